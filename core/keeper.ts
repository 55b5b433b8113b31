import { RevokeUnsupportedError, TokenExpiredError, TokenRevokedError, TokenUnknownError } from './errors.js';
import { sha256 } from './digest.js';
import { recordTable, type RecordTable } from './record.js';
import type { Policy } from './policy/types.js';
import {
  hasBulkRevocation, isSelfContained, type BulkRevocation, type Clock, type SessionOwner, type SelfContainedStyle, type StyleInstance, type Store, type TokenRecord,
  type TokenRequest,
} from './ports.js';

/** Whose tokens a bulk revocation names: a credential's (by id) or a subject's. */
export type TokenOwner = { readonly credentialId: string } | { readonly subject: string };

/**
 * What a bulk revocation did: the opaque sessions it deleted, or, for self-contained tokens,
 * the instant (ms epoch) up to which every token of the owner is refused.
 */
export type BulkRevoked = { readonly revoked: number } | { readonly notBefore: number };

/**
 * Where a policy's tokens live between issue and verify. Chosen once, when the policy is
 * compiled, from the kind of its style, so that nothing on a request's path asks which kind
 * of token it holds.
 */
export interface TokenKeeper {
  /** Keeps what verifying the new token will need. */
  keep(token: string, record: TokenRecord): Promise<void>;
  /** The record of a presented token, or the refusal (unknown, expired, revoked, malformed, …). */
  open(token: string, request: TokenRequest): Promise<TokenRecord>;
  /** Marks the token used, atomically: `true` for the one call that did. */
  useOnce(token: string, record: TokenRecord): Promise<boolean>;
  /** Makes the token invalid from now on; `false` when there was nothing to revoke. */
  revoke(token: string, record: TokenRecord): Promise<boolean>;
  /** Makes every token of `owner` issued until now invalid (`ERR_REVOKE_UNSUPPORTED` when the store cannot). */
  revokeAll(owner: TokenOwner): Promise<BulkRevoked>;
}

type IndexSession = NonNullable<BulkRevocation['indexSession']>;

/** The store's bulk revocation ability, or the refusal of a bulk revocation when it has none. */
function bulkOf(store: Store): BulkRevocation | undefined {
  return hasBulkRevocation(store) ? store : undefined;
}

function unsupported(policyId: string): RevokeUnsupportedError {
  return new RevokeUnsupportedError('the store cannot revoke tokens in bulk (by credential or subject)', { policyId });
}

/**
 * Opaque tokens: random text whose record is kept in the store under the token's SHA-256 (the
 * store never holds a usable token). Revoking or using up a token forgets its record.
 *
 * For bulk revocation, a store that keeps lists of sessions (`indexSession`: Redis) also lists
 * each session's key under its owner: its credential when it has one, else its subject. Both
 * writes go out together, so issuing waits for one store round trip as before.
 */
export class StoredTokens implements TokenKeeper {
  readonly #policy: Policy;
  readonly #records: RecordTable;
  readonly #bulk: BulkRevocation | undefined;
  /** The store's `indexSession`, when it keeps lists of sessions. */
  readonly #indexes: IndexSession | undefined;
  readonly #clock: Clock;

  constructor(policy: Policy, store: Store, clock: Clock) {
    this.#policy = policy;
    this.#records = recordTable(store);
    this.#bulk = bulkOf(store);
    this.#indexes = this.#bulk?.indexSession?.bind(this.#bulk);
    this.#clock = clock;
  }

  async keep(token: string, record: TokenRecord): Promise<void> {
    const key = this.#key(token);
    const kept = this.#records.put(key, record, record.expiresAt - record.issuedAt);
    const owner = this.#indexes === undefined ? undefined : this.#ownerOf(record);
    if (owner === undefined) return kept;
    await Promise.all([kept, (this.#indexes as IndexSession)(owner, key, record.expiresAt)]);
  }

  async open(token: string): Promise<TokenRecord> {
    const policyId = this.#policy.id;
    const record = await this.#records.get(this.#key(token), policyId);
    if (record === undefined) throw new TokenUnknownError('unknown or expired token', { policyId });
    if (record.expiresAt <= this.#clock.now()) throw new TokenExpiredError('the token has expired', { policyId });
    return record;
  }

  useOnce(token: string): Promise<boolean> {
    return this.#records.consume(this.#key(token));
  }

  revoke(token: string): Promise<boolean> {
    return this.#records.delete(this.#key(token));
  }

  /**
   * A subject's sessions are those listed under it and those of every credential whose
   * configured `subject` it is (a session is listed under its credential when it has one).
   */
  async revokeAll(owner: TokenOwner): Promise<BulkRevoked> {
    const bulk = this.#bulk;
    const policyId = this.#policy.id;
    if (bulk === undefined) throw unsupported(policyId);
    const owners: SessionOwner[] = [{ policyId, ...owner }];
    if ('subject' in owner) {
      for (const { id, subject } of this.#policy.credentials ?? []) {
        if (id !== undefined && subject === owner.subject) owners.push({ policyId, credentialId: id });
      }
    }
    const counts = await Promise.all(owners.map((one) => bulk.revokeSessions(one)));
    return { revoked: counts.reduce((sum, n) => sum + n, 0) };
  }

  /** Whose session this is, for bulk revocation: its credential's when it has one, else its subject's. */
  #ownerOf(record: TokenRecord): SessionOwner | undefined {
    const policyId = this.#policy.id;
    if (record.credentialId !== undefined) return { policyId, credentialId: record.credentialId };
    return record.subject === undefined ? undefined : { policyId, subject: record.subject };
  }

  #key(token: string): string {
    return `${this.#policy.id}:token:${sha256(token)}`;
  }
}

/**
 * How long a "not before" stamp outlives the longest lifetime the policy grants: a token a
 * style still accepts (within its clock tolerance) must still meet its owner's stamp.
 */
const STAMP_MARGIN_MS = 10 * 60_000;

/**
 * Self-contained tokens (a signed JWT, an encrypted XDOC token): the style opens them; the store
 * only remembers revoked token ids (a deny list) and, for single use, the ids already used, each
 * until the token would have expired.
 *
 * Bulk revocation stamps the owner (its credential or subject) with the revoking host's time: a
 * token whose `issuedAt` is at or before its credential's or its subject's stamp is revoked.
 * The stamps are read together with the deny list, not after it.
 */
export class SelfContainedTokens implements TokenKeeper {
  readonly #policyId: string;
  readonly #style: SelfContainedStyle;
  readonly #store: Store;
  readonly #bulk: BulkRevocation | undefined;
  readonly #clock: Clock;
  readonly #stampKey: string;
  readonly #stampLifetimeMs: number;

  constructor(policy: Policy, style: SelfContainedStyle, store: Store, clock: Clock) {
    this.#policyId = policy.id;
    this.#style = style;
    this.#store = store;
    this.#bulk = bulkOf(store);
    this.#clock = clock;
    this.#stampKey = `{${policy.id}}:not-before`;
    this.#stampLifetimeMs = policy.ttl.maxMs + STAMP_MARGIN_MS;
  }

  async keep(): Promise<void> {
    // Nothing to keep: the token carries its record.
  }

  async open(token: string, request: TokenRequest): Promise<TokenRecord> {
    const record = await this.#style.open(token, request);
    const denied = this.#store.isDenied(this.#key('deny', record.tokenId));
    const names = this.#bulk === undefined ? undefined : stampNames(record);
    const stamps = names === undefined ? undefined : (this.#bulk as BulkRevocation).notBefore(this.#stampKey, names);
    const [isDenied, notBefore] = await Promise.all([denied, stamps]);
    if (isDenied || notBefore?.some((stamp) => stamp !== undefined && record.issuedAt <= stamp)) {
      throw new TokenRevokedError('the token was revoked', { policyId: this.#policyId });
    }
    return record;
  }

  useOnce(_token: string, record: TokenRecord): Promise<boolean> {
    return this.#store.putIfAbsent(this.#key('used', record.tokenId), '1', Math.max(1, record.expiresAt - this.#clock.now()));
  }

  async revoke(_token: string, record: TokenRecord): Promise<boolean> {
    await this.#store.deny(this.#key('deny', record.tokenId), record.expiresAt);
    return true;
  }

  async revokeAll(owner: TokenOwner): Promise<BulkRevoked> {
    if (this.#bulk === undefined) throw unsupported(this.#policyId);
    const notBefore = this.#clock.now();
    await this.#bulk.stampNotBefore(this.#stampKey, stampName(owner), notBefore, this.#stampLifetimeMs);
    return { notBefore };
  }

  #key(kind: 'deny' | 'used', tokenId: string): string {
    return kind === 'deny' ? `${this.#policyId}:${tokenId}` : `${this.#policyId}:used:${tokenId}`;
  }
}

const stampName = (owner: TokenOwner): string => ('credentialId' in owner ? `credential:${owner.credentialId}` : `subject:${owner.subject}`);

/** The stamps that apply to a token: its credential's and its subject's (`undefined` when it has neither). */
function stampNames(record: TokenRecord): string[] | undefined {
  const { credentialId, subject } = record;
  if (credentialId === undefined) return subject === undefined ? undefined : [stampName({ subject })];
  return subject === undefined ? [stampName({ credentialId })] : [stampName({ credentialId }), stampName({ subject })];
}

/** The keeper for a style: chosen once per compiled policy. */
export function keeperFor(policy: Policy, style: StyleInstance, store: Store, clock: Clock): TokenKeeper {
  return isSelfContained(style) ? new SelfContainedTokens(policy, style, store, clock) : new StoredTokens(policy, store, clock);
}
