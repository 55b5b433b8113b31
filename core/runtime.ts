import { CredentialInvalidError, InternalError, TokenCredentialMismatchError, TokenMissingError } from './errors.js';
import { CredentialIndex } from './credentials.js';
import { sha256Bytes } from './digest.js';
import { chooseFormat } from './formats.js';
import type { Guard, GuardHook, IssueAttempt, VerifyAttempt } from './guard.js';
import type { BulkRevoked, TokenKeeper, TokenOwner } from './keeper.js';
import { tokenRecord } from './record.js';
import type { Credential, Policy } from './policy/types.js';
import type {
  Clock, Grant, GrantRequest, Outcome, Random, Reply, ReplyEncoder, StyleInstance, TokenRecord, TokenRequest, VerifyExpectations,
} from './ports.js';
import { encodesVerified, hasInfoRoutes, publishesKeys, type InfoRoute, type PublishedKeys, type Verified } from './ports.js';

/** The result of a successful issue. */
export interface Issued {
  readonly token: string;
  readonly record: TokenRecord;
}

/** What a policy compiles into, besides itself. */
export interface RuntimeParts {
  readonly style: StyleInstance;
  readonly encoders: ReadonlyMap<string, ReplyEncoder>;
  /** The policy's guards, in the order they run. */
  readonly guards: readonly Guard[];
  readonly keeper: TokenKeeper;
  readonly clock: Clock;
  readonly random: Random;
  /** Who hears of each issue request's outcome (the engine's observers). Absent: nobody. */
  readonly events?: IssueEvents;
}

/**
 * Where a runtime tells the outcome of each issue request (the audit trail listens). Asked per
 * request, so that a listener added later is heard; while `listening` is `false` an issue
 * request pays for nothing more than that question.
 */
export interface IssueEvents {
  readonly listening: boolean;
  issued(policyId: string, request: TokenRequest, record: TokenRecord): void;
  refused(policyId: string, request: TokenRequest, error: unknown, credentialId: string | undefined): void;
}

/** An issue request as the guards see it. */
class Attempt implements IssueAttempt {
  credential: Credential | undefined = undefined;
  scopes: readonly string[] = [];
  lifetimeMs: number | undefined = undefined;
  boundAddress: string | undefined = undefined;
  #notes: Record<string, unknown> | undefined;

  constructor(
    readonly policy: Policy,
    readonly request: TokenRequest,
    readonly asked: GrantRequest,
    readonly secretDigest: Buffer | undefined,
  ) {}

  note(key: string, value: unknown): void {
    (this.#notes ??= {})[key] = value;
  }

  noted<T>(key: string): T | undefined {
    return this.#notes?.[key] as T | undefined;
  }
}

/** The guards that have a hook, per hook: a request calls only those. */
type HookTable = { readonly [H in GuardHook]: readonly Guard[] };

const NO_EXPECTATIONS: readonly VerifyExpectations[] = [];
/** A request that says nothing about its caller: introspection and revocation inspect tokens with it. */
const NEUTRAL: TokenRequest = { param: () => undefined, clientAddress: '' };

/**
 * One policy, compiled: its style, credentials, reply encoders, guards (in their order) and
 * token keeper, chosen once. A host resolves a route to its runtime once per policy set and
 * calls it; nothing here asks which kind of token or which rule it is dealing with.
 *
 * @example
 * ```ts
 * const runtime = engine.served.get('electa');
 * const { token, record } = await runtime.issue(request);
 * const reply = runtime.reply({ ok: true, token, record }, request);
 * ```
 */
export class PolicyRuntime {
  readonly policy: Policy;
  readonly #style: StyleInstance;
  readonly #credentials: CredentialIndex | undefined;
  readonly #encoders: ReadonlyMap<string, ReplyEncoder>;
  readonly #hooks: HookTable;
  readonly #keeper: TokenKeeper;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #events: IssueEvents | undefined;

  constructor(policy: Policy, parts: RuntimeParts) {
    this.policy = policy;
    this.#style = parts.style;
    this.#credentials = policy.credentials && new CredentialIndex(policy.credentials);
    this.#encoders = parts.encoders;
    const having = (hook: GuardHook) => parts.guards.filter((guard) => typeof guard[hook] === 'function');
    this.#hooks = {
      onRequest: having('onRequest'),
      beforeCredentials: having('beforeCredentials'),
      afterCredentials: having('afterCredentials'),
      beforeMint: having('beforeMint'),
      beforeVerify: having('beforeVerify'),
      onVerify: having('onVerify'),
    };
    this.#keeper = parts.keeper;
    this.#clock = parts.clock;
    this.#random = parts.random;
    this.#events = parts.events;
  }

  /** Issues a token for a vendor request: the guards' hooks around the credential check, then the style mints it. */
  issue(request: TokenRequest): Promise<Issued> {
    return this.#events?.listening ? this.#issueHeard(request, this.#events) : this.#issue(request);
  }

  /** {@link PolicyRuntime.issue}, telling `events` the outcome. */
  async #issueHeard(request: TokenRequest, events: IssueEvents): Promise<Issued> {
    let issued: Issued;
    try {
      issued = await this.#issue(request);
    } catch (err) {
      events.refused(this.policy.id, request, err, this.#claimedCredential(request));
      throw err;
    }
    events.issued(this.policy.id, request, issued.record);
    return issued;
  }

  /**
   * The credential id a refused request named, read from it again: a refusal may come before
   * the style read the request or after, and reading it here keeps the issue path as it is.
   */
  #claimedCredential(request: TokenRequest): string | undefined {
    try {
      return this.#style.readGrant(request).credentialId;
    } catch {
      return undefined;
    }
  }

  async #issue(request: TokenRequest): Promise<Issued> {
    const { policy } = this;
    const hooks = this.#hooks;
    for (const guard of hooks.onRequest) await guard.onRequest?.(request);
    const asked = this.#style.readGrant(request);
    const secretDigest = asked.secret === undefined ? undefined : sha256Bytes(asked.secret);
    const attempt = new Attempt(policy, request, asked, secretDigest);
    if (this.#credentials !== undefined) {
      for (const guard of hooks.beforeCredentials) await guard.beforeCredentials?.(attempt);
      attempt.credential = this.#credentials.matchDigest(asked.credentialId, secretDigest);
      for (const guard of hooks.afterCredentials) await guard.afterCredentials?.(attempt);
      if (attempt.credential === undefined) throw new CredentialInvalidError('invalid credential', { policyId: policy.id });
    }
    for (const guard of hooks.beforeMint) {
      const answer: unknown = guard.beforeMint?.(attempt);
      // A promise here would be a refusal nobody waits for: fail closed instead of minting.
      if (answer !== undefined) {
        void Promise.resolve(answer).catch(() => {});
        throw new InternalError(`policy ${policy.id}: a guard's beforeMint returned a value; it must decide without a promise`);
      }
    }
    const { credential, scopes, boundAddress, lifetimeMs } = attempt;
    if (lifetimeMs === undefined) throw new InternalError(`policy ${policy.id} has no guard that sets a token's lifetime`);
    const issuedAt = this.#clock.now();
    const expiresAt = issuedAt + lifetimeMs;
    const tokenId = this.#random.uuid();
    const credentialId = credential?.id;
    const grant: Grant = { policy, credentialId, subject: credential?.subject, scopes, boundAddress, issuedAt, expiresAt, tokenId, claims: asked.claims };
    const minted = await this.#style.mint(grant);
    const record = tokenRecord({
      tokenId: minted.tokenId ?? tokenId, policyId: policy.id, scopes, issuedAt, expiresAt,
      subject: credential?.subject ?? minted.subject, credentialId, boundAddress, claims: minted.claims,
    });
    await this.#keeper.keep(minted.token, record);
    return { token: minted.token, record };
  }

  /**
   * Verifies `token` (or, when `undefined`, the token the style finds in the request) as a
   * caller presenting it: the guards' rules about the caller (`beforeVerify`: rate limit,
   * allowed networks), the request's own expectations (Electa's `CID`), the token keeper
   * (integrity, expiry, revocation), then every guard (binding, scopes, single use, …).
   */
  async verify(token: string | undefined, request: TokenRequest, expect?: VerifyExpectations): Promise<TokenRecord> {
    // Rules about the caller alone, before anything of the token is looked at.
    for (const guard of this.#hooks.beforeVerify) await guard.beforeVerify?.(request);
    // Then the request's own expectations: a malformed request is refused before any lookup.
    const expected = this.#style.expectations?.(request);
    const presented = token ?? this.#style.presentedToken(request);
    const expectations = expected === undefined ? (expect === undefined ? NO_EXPECTATIONS : [expect]) : expect === undefined ? [expected] : [expected, expect];
    return this.#check(presented, request, true, expectations);
  }

  /** The record of a valid token without using it up or checking the caller (introspection, revocation). */
  inspect(token: string): Promise<TokenRecord> {
    return this.#check(token, NEUTRAL, false, NO_EXPECTATIONS);
  }

  /** Revokes a token of this policy; `false` when it is not one (or was already gone). */
  async revoke(token: string): Promise<boolean> {
    return this.#keeper.revoke(token, await this.inspect(token));
  }

  /** Revokes every token of a credential or subject issued until now (see `TokenKeeper.revokeAll`). */
  revokeAll(owner: TokenOwner): Promise<BulkRevoked> {
    return this.#keeper.revokeAll(owner);
  }

  /** The style's fixed informational routes for this policy (Melissa's `getversion`), if it has any. */
  get infoRoutes(): readonly InfoRoute[] {
    return hasInfoRoutes(this.#style) ? this.#style.infoRoutes(this.policy.routes) : [];
  }

  /** The public keys the policy publishes (its JWKS), if its style publishes any. */
  get publishedKeys(): PublishedKeys | undefined {
    return publishesKeys(this.#style) ? this.#style.publishedKeys : undefined;
  }

  /** Renders an outcome in the reply format the request chose (the default when it chose badly). */
  reply(outcome: Outcome, request?: TokenRequest): Reply {
    let format = this.policy.output.default;
    try {
      format = chooseFormat(this.policy, request);
    } catch {
      // An unknown format is itself reported, in the default format.
    }
    return this.#encoder(format).encode(outcome, this.policy);
  }

  /**
   * Renders a verified request in the reply format the request chose, when that format's
   * encoder can (see `VerifiedEncoder`); `undefined` when it cannot, and the host answers its
   * generic JSON.
   */
  replyVerified(verified: Verified, request: TokenRequest): Reply | undefined {
    const encoder = this.#encoder(chooseFormat(this.policy, request));
    return encodesVerified(encoder) ? encoder.encodeVerified(verified, this.policy) : undefined;
  }

  #encoder(format: string): ReplyEncoder {
    return this.#encoders.get(format) as ReplyEncoder; // every allowed format has one (checked when the policy loaded)
  }

  async #check(token: string | undefined, request: TokenRequest, presented: boolean, expectations: readonly VerifyExpectations[]): Promise<TokenRecord> {
    const { policy } = this;
    if (token === undefined || token === '') throw new TokenMissingError('no token presented', { policyId: policy.id });
    const record = await this.#keeper.open(token, request);
    for (const expected of expectations) {
      if (expected.credentialId !== undefined && expected.credentialId !== record.credentialId) {
        throw new TokenCredentialMismatchError('the token belongs to another credential', { policyId: policy.id });
      }
    }
    if (this.#hooks.onVerify.length) {
      const keeper = this.#keeper;
      const attempt: VerifyAttempt = { policy, request, token, record, presented, expectations, useOnce: () => keeper.useOnce(token, record) };
      for (const guard of this.#hooks.onVerify) await guard.onVerify?.(attempt);
    }
    return record;
  }
}
