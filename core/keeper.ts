import { TokenExpiredError, TokenRevokedError, TokenUnknownError } from './errors.js';
import { sha256 } from './digest.js';
import { recordTable, type RecordTable } from './record.js';
import { isSelfContained, type Clock, type SelfContainedStyle, type StyleInstance, type Store, type TokenRecord, type TokenRequest } from './ports.js';

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
}

/**
 * Opaque tokens: random text whose record is kept in the store under the token's SHA-256 (the
 * store never holds a usable token). Revoking or using up a token forgets its record.
 */
export class StoredTokens implements TokenKeeper {
  readonly #policyId: string;
  readonly #records: RecordTable;
  readonly #clock: Clock;

  constructor(policyId: string, store: Store, clock: Clock) {
    this.#policyId = policyId;
    this.#records = recordTable(store);
    this.#clock = clock;
  }

  keep(token: string, record: TokenRecord): Promise<void> {
    return this.#records.put(this.#key(token), record, record.expiresAt - record.issuedAt);
  }

  async open(token: string): Promise<TokenRecord> {
    const record = await this.#records.get(this.#key(token), this.#policyId);
    if (record === undefined) throw new TokenUnknownError('unknown or expired token', { policyId: this.#policyId });
    if (record.expiresAt <= this.#clock.now()) throw new TokenExpiredError('the token has expired', { policyId: this.#policyId });
    return record;
  }

  useOnce(token: string): Promise<boolean> {
    return this.#records.consume(this.#key(token));
  }

  revoke(token: string): Promise<boolean> {
    return this.#records.delete(this.#key(token));
  }

  #key(token: string): string {
    return `${this.#policyId}:token:${sha256(token)}`;
  }
}

/**
 * Self-contained tokens (a signed JWT, an encrypted XDOC token): the style opens them; the store
 * only remembers revoked token ids (a deny list) and, for single use, the ids already used, each
 * until the token would have expired.
 */
export class SelfContainedTokens implements TokenKeeper {
  readonly #policyId: string;
  readonly #style: SelfContainedStyle;
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(policyId: string, style: SelfContainedStyle, store: Store, clock: Clock) {
    this.#policyId = policyId;
    this.#style = style;
    this.#store = store;
    this.#clock = clock;
  }

  async keep(): Promise<void> {
    // Nothing to keep: the token carries its record.
  }

  async open(token: string, request: TokenRequest): Promise<TokenRecord> {
    const record = await this.#style.open(token, request);
    if (await this.#store.isDenied(this.#key('deny', record.tokenId))) {
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

  #key(kind: 'deny' | 'used', tokenId: string): string {
    return kind === 'deny' ? `${this.#policyId}:${tokenId}` : `${this.#policyId}:used:${tokenId}`;
  }
}

/** The keeper for a style: chosen once per compiled policy. */
export function keeperFor(policyId: string, style: StyleInstance, store: Store, clock: Clock): TokenKeeper {
  return isSelfContained(style) ? new SelfContainedTokens(policyId, style, store, clock) : new StoredTokens(policyId, store, clock);
}
