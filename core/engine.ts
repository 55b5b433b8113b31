import {
  CredentialInvalidError, PolicyUnknownError, ScopeNotAllowedError, StoreUnavailableError, TokenCredentialMismatchError,
  TokenExpiredError, TokenMissingError, TokenReusedError, TokenRevokedError, TokenScopeError, TokenUnknownError,
  hasCode, isTokenSmithError,
} from './errors.js';
import { CredentialIndex } from './credentials.js';
import { suggestion } from './suggest.js';
import { sha256, sha256Bytes } from './digest.js';
import { HeldRecord, recordTable, storeKey, type RecordTable } from './record.js';
import { chooseFormat, encoderNameFor } from './guards/output.js';
import { bindAddress, checkBinding } from './guards/ip.js';
import { lifetimeFor } from './guards/ttl.js';
import { LockoutGuard } from './guards/lockout.js';
import type { Credential, Policy } from './policy/types.js';
import type {
  Clock, EngineObserver, Grant, Outcome, Random, Reply, ReplyEncoder, Store, StyleInstance, TokenRecord, TokenRequest, VerifyExpectations,
} from './ports.js';
import { encodesVerified, hasInfoRoutes, isSelfContained, type InfoRoute, type Verified } from './ports.js';
import type { PluginRegistry } from './registry.js';

/** One policy, made ready: its style instance, credentials index and encoders. */
interface Compiled {
  readonly policy: Policy;
  readonly style: StyleInstance;
  readonly credentials: CredentialIndex | undefined;
  readonly encoders: ReadonlyMap<string, ReplyEncoder>;
}

/**
 * A set of compiled policies; swapped as a whole on reload. A host pins the set served when a
 * request arrives (`engine.served`) and passes it to the engine's calls, so a reload never
 * changes the policies under a request in flight.
 */
export class PolicySet {
  readonly #byId: ReadonlyMap<string, Compiled>;
  constructor(compiled: readonly Compiled[]) {
    this.#byId = new Map(compiled.map((c) => [c.policy.id, c]));
  }
  get(id: string): Compiled {
    const found = this.#byId.get(id);
    if (found === undefined) {
      const close = suggestion(id, this.#byId.keys());
      throw new PolicyUnknownError(`no policy "${id}"${close === undefined ? '' : `; did you mean "${close}"?`}`, { policyId: id });
    }
    return found;
  }
  get policies(): Policy[] {
    return [...this.#byId.values()].map((c) => c.policy);
  }
  has(id: string): boolean {
    return this.#byId.has(id);
  }
}

/** The result of a successful issue. */
export interface Issued {
  readonly token: string;
  readonly record: TokenRecord;
}

/** RFC 7662 introspection response. */
export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

const VERIFY_ALL = { consume: true, binding: true } as const;
const INSPECT = { consume: false, binding: false } as const;

/**
 * The SHA-256 of an opaque token: the store never holds a usable token. Kept with every session
 * by an in-process store, so joined into one flat string (see `storeKey`).
 */
const tokenKey = (policyId: string, token: string): string => storeKey(policyId, 'token', sha256(token));
/** Looked up on every verify of a self-contained token, kept only for revoked ones: concatenated. */
const denyKey = (policyId: string, tokenId: string): string => `${policyId}:${tokenId}`;

/**
 * The policy engine: issues, verifies, revokes and introspects tokens under the loaded
 * policies, dispatching to each policy's token style and reply encoders.
 *
 * @example
 * ```ts
 * const { token } = await engine.issue('emalidate', request);
 * const record = await engine.verify('emalidate', token, request);
 * ```
 */
export class Engine {
  readonly #store: Store;
  readonly #records: RecordTable;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #registry: PluginRegistry;
  readonly #lockout: LockoutGuard;
  #set: PolicySet = new PolicySet([]);
  #generation = 0;
  readonly #observers = new Set<EngineObserver>();

  constructor(deps: { store: Store; clock: Clock; random: Random; registry: PluginRegistry }) {
    this.#store = deps.store;
    this.#records = recordTable(deps.store);
    this.#clock = deps.clock;
    this.#random = deps.random;
    this.#registry = deps.registry;
    this.#lockout = new LockoutGuard(deps.store);
  }

  /**
   * Adds a listener for events that requests do not show by themselves (a lockout starting, a
   * store call failing, the store full), for metrics and warnings. Returns the function that removes it.
   */
  observe(observer: EngineObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /** Makes every policy ready (styles instantiated, keys imported) without serving it yet. */
  async compile(policies: readonly Policy[]): Promise<PolicySet> {
    const compiled: Compiled[] = [];
    for (const policy of policies) {
      const style = await this.#registry.style(policy.style).create(policy, { clock: this.#clock, random: this.#random });
      const encoders = new Map<string, ReplyEncoder>();
      for (const format of policy.output.allowed) {
        const name = encoderNameFor(policy.style, format, this.#registry.encoders) ?? format;
        encoders.set(format, this.#registry.encoder(name));
      }
      const credentials = policy.credentials && new CredentialIndex(policy.credentials);
      compiled.push({ policy, style, credentials, encoders });
    }
    return new PolicySet(compiled);
  }

  /** Serves `set` from now on; calls already running finish on the set they started with. */
  use(set: PolicySet): void {
    this.#set = set;
    this.#generation++;
  }

  /** Counts the policy sets served so far (logged on reload); hosts compare `served` to rebuild routes. */
  get generation(): number {
    return this.#generation;
  }

  /** The policy set served now; pass it to `issue`/`verify`/`reply`/`policy` to pin it for a request. */
  get served(): PolicySet {
    return this.#set;
  }

  /** Compiles and serves `policies`. */
  async load(policies: readonly Policy[]): Promise<void> {
    this.use(await this.compile(policies));
  }

  get policies(): Policy[] {
    return this.#set.policies;
  }

  policy(id: string, set: PolicySet = this.#set): Policy {
    return set.get(id).policy;
  }

  get store(): Store {
    return this.#store;
  }

  /** The injected clock (hosts use it for what they time, such as how often a warning is logged). */
  get clock(): Clock {
    return this.#clock;
  }

  /**
   * Issues a token for a vendor request, enforcing lockout, credentials, scopes, TTL and binding.
   * `set`: the policy set to use (default: the one served now).
   */
  async issue(policyId: string, request: TokenRequest, set: PolicySet = this.#set): Promise<Issued> {
    const { policy, style, credentials } = set.get(policyId);
    chooseFormat(policy, request);
    const asked = style.readGrant(request);
    let credential: Credential | undefined;
    if (credentials !== undefined) {
      // One digest of the secret serves the comparison and, for secret-only styles, the lockout key.
      const digest = asked.secret === undefined ? undefined : sha256Bytes(asked.secret);
      const keys = this.#lockout.keys(policy, {
        credentialId: asked.credentialId,
        secretDigest: asked.credentialId === undefined ? digest : undefined,
        address: request.clientAddress,
      });
      const counted = keys.length ? await this.#guard(() => this.#lockout.assertOpen(policy, keys)) : [];
      credential = credentials.matchDigest(asked.credentialId, digest);
      if (credential === undefined) {
        const engaged = () => this.#notify('lockout', policyId);
        const locked = keys.length ? await this.#guard(() => this.#lockout.fail(policy, keys, engaged)) : undefined;
        throw locked ?? new CredentialInvalidError('invalid credential', { policyId });
      }
      if (counted.length) await this.#guard(() => this.#lockout.succeed(policy, counted, request));
    }
    const scopes = grantedScopes(policy, credential, asked.scopes);
    const boundAddress = bindAddress(policy, request);
    const issuedAt = this.#clock.now();
    const expiresAt = issuedAt + lifetimeFor(policy, request, asked.ttlMs);
    const tokenId = this.#random.uuid();
    const credentialId = credential?.id;
    // Every field present, `undefined` when absent: no conditional spread building an object an issue.
    const grant: Grant = { policy, credentialId, subject: credential?.subject, scopes, boundAddress, issuedAt, expiresAt, tokenId, claims: asked.claims };
    const mint = style.mint(grant);
    const minted = mint instanceof Promise ? await mint : mint; // the built-in styles mint at once: no turn to wait
    const subject = credential?.subject ?? minted.subject;
    // Built field by field rather than with conditional spreads: one object shape, cheap to write.
    const record = new HeldRecord(minted.tokenId ?? tokenId, policyId, scopes, issuedAt, expiresAt);
    if (subject !== undefined) record.subject = subject;
    if (credentialId !== undefined) record.credentialId = credentialId;
    if (boundAddress !== undefined) record.boundAddress = boundAddress;
    if (minted.claims !== undefined) record.claims = minted.claims;
    if (!isSelfContained(style)) {
      const put = this.#guard(() => this.#records.put(tokenKey(policyId, minted.token), record, expiresAt - issuedAt));
      if (put instanceof Promise) await put;
    }
    return { token: minted.token, record };
  }

  /**
   * Verifies `token` (or, when `undefined`, the token the style finds in the request) as a
   * caller presenting it: integrity, expiry, revocation, address binding, the request's own
   * expectations (Electa's `CID`) and single use. `set`: as for {@link Engine.issue}.
   */
  async verify(
    policyId: string,
    token: string | undefined,
    request: TokenRequest,
    expect?: VerifyExpectations,
    set: PolicySet = this.#set,
  ): Promise<TokenRecord> {
    const compiled = set.get(policyId);
    // `return await`: an async function that returns a promise as it is takes two more turns.
    return await this.#check(compiled, token ?? compiled.style.presentedToken(request), request, VERIFY_ALL, expect);
  }

  /** RFC 7009: revokes the token; `false` when it was not a valid token of any (or the given) policy. */
  async revoke(token: string, policyId?: string): Promise<boolean> {
    const found = await this.#find(token, policyId);
    if (found === undefined) return false;
    const [compiled, record] = found;
    const id = compiled.policy.id;
    if (isSelfContained(compiled.style)) {
      await this.#guard(() => this.#store.deny(denyKey(id, record.tokenId), record.expiresAt));
      return true;
    }
    return this.#guard(() => this.#store.delete(tokenKey(id, token)));
  }

  /** RFC 7662: what the token is, or `{ active: false }`. Does not use up single-use tokens. */
  async introspect(token: string, policyId?: string): Promise<Introspection> {
    const found = await this.#find(token, policyId);
    if (found === undefined) return { active: false };
    const [compiled, record] = found;
    const issuer = record.claims?.['iss'];
    return {
      active: true,
      policy: compiled.policy.id,
      token_type: compiled.policy.style,
      jti: record.tokenId,
      iat: Math.floor(record.issuedAt / 1000),
      exp: Math.floor(record.expiresAt / 1000),
      ...(record.scopes.length ? { scope: record.scopes.join(' ') } : {}),
      ...(record.subject === undefined ? {} : { sub: record.subject }),
      ...(record.credentialId === undefined ? {} : { client_id: record.credentialId }),
      ...(typeof issuer === 'string' ? { iss: issuer } : {}),
      ...(record.boundAddress === undefined ? {} : { bound_ip: record.boundAddress }),
    };
  }

  /** The style's fixed informational routes for this policy (Melissa's `getversion`), if it has any. */
  infoRoutes(policyId: string, set: PolicySet = this.#set): readonly InfoRoute[] {
    const { policy, style } = set.get(policyId);
    return hasInfoRoutes(style) ? style.infoRoutes(policy.routes) : [];
  }

  /** Renders an outcome in the reply format the request chose (the default when it chose badly). */
  reply(policyId: string, outcome: Outcome, request?: TokenRequest, set: PolicySet = this.#set): Reply {
    const { policy, encoders } = set.get(policyId);
    let format = policy.output.default;
    try {
      format = chooseFormat(policy, request);
    } catch {
      // An unknown format is itself reported, in the default format.
    }
    return (encoders.get(format) as ReplyEncoder).encode(outcome, policy);
  }

  /**
   * Renders a verified request in the reply format the request chose, when that format's
   * encoder can (see `VerifiedEncoder`); `undefined` when it cannot, and the host answers its
   * generic JSON.
   */
  replyVerified(policyId: string, verified: Verified, request: TokenRequest, set: PolicySet = this.#set): Reply | undefined {
    const { policy, encoders } = set.get(policyId);
    const encoder = encoders.get(chooseFormat(policy, request)) as ReplyEncoder;
    return encodesVerified(encoder) ? encoder.encodeVerified(verified, policy) : undefined;
  }

  async #find(token: string, policyId: string | undefined): Promise<[Compiled, TokenRecord] | undefined> {
    const set = this.#set;
    const candidates = policyId === undefined ? set.policies.map((p) => set.get(p.id)) : [set.get(policyId)];
    const neutral: TokenRequest = { param: () => undefined, clientAddress: '' };
    for (const compiled of candidates) {
      try {
        return [compiled, await this.#check(compiled, token, neutral, INSPECT)];
      } catch (err) {
        if (hasCode(err, 'ERR_STORE_UNAVAILABLE')) throw err;
      }
    }
    return undefined;
  }

  async #check(
    { policy, style }: Compiled,
    token: string | undefined,
    request: TokenRequest,
    mode: { consume: boolean; binding: boolean },
    routeExpect?: VerifyExpectations,
  ): Promise<TokenRecord> {
    // The request's own expectations first: a malformed request is refused before any lookup.
    const expected = mode.binding ? style.expectations?.(request) : undefined;
    if (token === undefined || token === '') throw new TokenMissingError('no token presented', { policyId: policy.id });
    let record: TokenRecord;
    if (isSelfContained(style)) {
      record = await style.open(token, request);
      if (await this.#guard(() => this.#store.isDenied(denyKey(policy.id, record.tokenId)))) {
        throw new TokenRevokedError('the token was revoked', { policyId: policy.id });
      }
    } else {
      const found = this.#guard(() => this.#records.get(tokenKey(policy.id, token), policy.id));
      const stored = found instanceof Promise ? await found : found;
      if (stored === undefined) throw new TokenUnknownError('unknown or expired token', { policyId: policy.id });
      record = stored;
      if (record.expiresAt <= this.#clock.now()) throw new TokenExpiredError('the token has expired', { policyId: policy.id });
    }
    if (mode.binding) checkBinding(policy, record, request);
    if (expected?.credentialId !== undefined && expected.credentialId !== record.credentialId) {
      throw new TokenCredentialMismatchError('the token belongs to another credential', { policyId: policy.id });
    }
    const missing = missingScope(record, expected?.scopes) ?? missingScope(record, routeExpect?.scopes);
    if (missing !== undefined) {
      throw new TokenScopeError(`the token does not carry scope ${missing}`, { policyId: policy.id, claim: missing });
    }
    if (mode.consume && !policy.reuse) await this.#useOnce(policy, token, record, style);
    return record;
  }

  async #useOnce(policy: Policy, token: string, record: TokenRecord, style: StyleInstance): Promise<void> {
    const first = isSelfContained(style)
      ? await this.#guard(() =>
          this.#store.putIfAbsent(storeKey(policy.id, 'used', record.tokenId), '1', Math.max(1, record.expiresAt - this.#clock.now())),
        )
      : await this.#guard(() => this.#records.consume(tokenKey(policy.id, token)));
    if (!first) throw new TokenReusedError('the token was already used', { policyId: policy.id });
  }

  /**
   * Store calls: any failure that is not ours becomes `StoreUnavailableError` (fail closed). An
   * answer given at once (a record from a store in this process) is passed on as it is, so the
   * caller need not wait a turn for it.
   */
  #guard<T>(call: () => T | Promise<T>): T | Promise<T> {
    try {
      const answer = call();
      return answer instanceof Promise ? answer.catch(this.#storeFailure) : answer;
    } catch (err) {
      return Promise.reject(this.#storeFailure(err));
    }
  }

  readonly #storeFailure = (err: unknown): never => {
    if (hasCode(err, 'ERR_STORE_FULL')) this.#notify('storeFull');
    if (isTokenSmithError(err)) throw err;
    this.#notify('storeError');
    throw new StoreUnavailableError('the token store is unavailable', { cause: err });
  };

  #notify(event: 'lockout', policyId: string): void;
  #notify(event: 'storeError' | 'storeFull'): void;
  #notify(event: 'lockout' | 'storeError' | 'storeFull', policyId?: string): void {
    for (const observer of this.#observers) {
      try {
        if (event === 'lockout') observer.lockout?.(policyId as string);
        else if (event === 'storeFull') observer.storeFull?.();
        else observer.storeError?.();
      } catch {
        // An observer (metrics) must never change a request's outcome.
      }
    }
  }
}

const NO_SCOPES: readonly string[] = Object.freeze([]);

/** The first of `wanted` the record does not carry. */
function missingScope(record: TokenRecord, wanted: readonly string[] | undefined): string | undefined {
  return wanted?.find((scope) => !record.scopes.includes(scope));
}

/** Scopes guard: everything asked must be allowed; nothing asked means all that is allowed. */
function grantedScopes(policy: Policy, credential: Credential | undefined, asked: readonly string[] | undefined): readonly string[] {
  const allowed = credential?.scopes;
  if (asked === undefined) return allowed ?? NO_SCOPES;
  if (allowed === undefined) return asked;
  const refused = asked.filter((scope) => !allowed.includes(scope));
  if (refused.length) {
    throw new ScopeNotAllowedError(`not allowed for this credential: ${refused.join(', ')}`, { policyId: policy.id, claim: refused[0] });
  }
  return asked;
}

