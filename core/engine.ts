import { PluginLoadError, PolicyUnknownError, hasCode } from './errors.js';
import { suggestion } from './suggest.js';
import { encoderNameFor } from './formats.js';
import { failClosed } from './fail-closed.js';
import type { Guard } from './guard.js';
import { keeperFor, type BulkRevoked, type TokenOwner } from './keeper.js';
import { PolicyRuntime, type IssueEvents, type Issued } from './runtime.js';
import type { Policy } from './policy/types.js';
import type { Clock, EngineObserver, LockStarted, Outcome, Random, Reply, ReplyEncoder, Store, TokenRecord, TokenRequest, VerifyExpectations } from './ports.js';
import type { InfoRoute, Verified } from './ports.js';
import type { PluginRegistry } from './registry.js';

export type { Issued } from './runtime.js';
export type { BulkRevoked, TokenOwner } from './keeper.js';

/**
 * A set of compiled policies (their runtimes); swapped as a whole on reload. A host pins the
 * set served when a request arrives (`engine.served`) and resolves each route to its runtime
 * once per set, so a reload never changes the policies under a request in flight.
 */
export class PolicySet {
  readonly #byId: ReadonlyMap<string, PolicyRuntime>;
  constructor(runtimes: readonly PolicyRuntime[]) {
    this.#byId = new Map(runtimes.map((runtime) => [runtime.policy.id, runtime]));
  }
  /** The runtime of policy `id`; throws `PolicyUnknownError` when the set has none. */
  get(id: string): PolicyRuntime {
    const found = this.#byId.get(id);
    if (found === undefined) {
      const close = suggestion(id, this.#byId.keys());
      throw new PolicyUnknownError(`no policy "${id}"${close === undefined ? '' : `; did you mean "${close}"?`}`, { policyId: id });
    }
    return found;
  }
  get runtimes(): PolicyRuntime[] {
    return [...this.#byId.values()];
  }
  get policies(): Policy[] {
    return this.runtimes.map((runtime) => runtime.policy);
  }
  has(id: string): boolean {
    return this.#byId.has(id);
  }
}

/** RFC 7662 introspection response. */
export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

/**
 * The policy engine: a set of policy runtimes, swapped as a whole on reload. Its methods look
 * a policy's runtime up and call it (the CLI, tests and simple hosts use them; the HTTP host
 * resolves each route to its runtime once).
 *
 * @example
 * ```ts
 * const { token } = await engine.issue('emalidate', request);
 * const record = await engine.verify('emalidate', token, request);
 * ```
 */
export class Engine {
  readonly #store: Store;
  /** The store as requests use it: every failure fails closed (see `failClosed`). */
  readonly #requestStore: Store;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #registry: PluginRegistry;
  #set: PolicySet = new PolicySet([]);
  #generation = 0;
  readonly #observers = new Set<EngineObserver>();
  /** The observers that listen to issue outcomes; runtimes ask `listening` per request. */
  readonly #issueEvents: IssueEvents & { listening: boolean };

  constructor(deps: { store: Store; clock: Clock; random: Random; registry: PluginRegistry }) {
    this.#store = deps.store;
    this.#requestStore = failClosed(deps.store, { full: () => this.#notify('storeFull'), unavailable: () => this.#notify('storeError') });
    this.#clock = deps.clock;
    this.#random = deps.random;
    this.#registry = deps.registry;
    const observers = this.#observers;
    this.#issueEvents = {
      listening: false,
      issued(policyId, request, record) {
        for (const observer of observers) quietly(() => observer.issued?.(policyId, request, record));
      },
      refused(policyId, request, error, credentialId) {
        for (const observer of observers) quietly(() => observer.refused?.(policyId, request, error, credentialId));
      },
    };
  }

  /**
   * Adds a listener for events that requests do not show by themselves (a lockout starting, a
   * store call failing, the store full), for metrics and warnings. Returns the function that removes it.
   */
  observe(observer: EngineObserver): () => void {
    this.#observers.add(observer);
    this.#heard();
    return () => {
      this.#observers.delete(observer);
      this.#heard();
    };
  }

  /** Whether issue requests must tell their outcome: only while an observer listens for it. */
  #heard(): void {
    this.#issueEvents.listening = [...this.#observers].some((o) => o.issued !== undefined || o.refused !== undefined);
  }

  /** Makes every policy ready (styles instantiated, keys imported, guards made) without serving it yet. */
  async compile(policies: readonly Policy[]): Promise<PolicySet> {
    const runtimes: PolicyRuntime[] = [];
    for (const policy of policies) runtimes.push(await this.#compileOne(policy));
    return new PolicySet(runtimes);
  }

  async #compileOne(policy: Policy): Promise<PolicyRuntime> {
    const clock = this.#clock;
    const random = this.#random;
    const store = this.#requestStore;
    const style = await this.#registry.style(policy.style).create(policy, { clock, random });
    const encoders = new Map<string, ReplyEncoder>();
    for (const format of policy.output.allowed) {
      const name = encoderNameFor(policy.style, format, this.#registry.encoders) ?? format;
      encoders.set(format, this.#registry.encoder(name));
    }
    const lockoutStarted = (lock?: LockStarted) => this.#notify('lockout', policy.id, lock);
    const guards: Guard[] = [];
    for (const plugin of this.#registry.guardsInOrder) {
      const guard = plugin.create(policy, { store, clock, lockoutStarted });
      if (typeof (guard as Partial<PromiseLike<unknown>> | undefined)?.then === 'function') {
        throw new PluginLoadError(`guard "${plugin.name}": create() must return the guard itself or undefined, not a promise (it runs once, when policies load)`);
      }
      if (guard !== undefined) guards.push(guard);
    }
    const keeper = keeperFor(policy, style, store, clock);
    return new PolicyRuntime(policy, { style, encoders, guards, keeper, clock, random, events: this.#issueEvents });
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

  /** The policy set served now; a host resolves its routes' runtimes from it (`served.get(id)`). */
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

  /** Issues a token under policy `policyId` (see `PolicyRuntime.issue`). `set`: the policy set to use (default: the one served now). */
  issue(policyId: string, request: TokenRequest, set: PolicySet = this.#set): Promise<Issued> {
    return set.get(policyId).issue(request);
  }

  /** Verifies a presented token (see `PolicyRuntime.verify`). `set`: as for {@link Engine.issue}. */
  verify(policyId: string, token: string | undefined, request: TokenRequest, expect?: VerifyExpectations, set: PolicySet = this.#set): Promise<TokenRecord> {
    return set.get(policyId).verify(token, request, expect);
  }

  /** RFC 7009: revokes the token; `false` when it was not a valid token of any (or the given) policy. */
  async revoke(token: string, policyId?: string): Promise<boolean> {
    return (await this.revokeRecord(token, policyId)) !== undefined;
  }

  /** As {@link Engine.revoke}, saying what was revoked (for the audit trail): its policy and record, or `undefined`. */
  async revokeRecord(token: string, policyId?: string): Promise<{ policyId: string; record: TokenRecord } | undefined> {
    const found = await this.#find(token, policyId);
    if (found === undefined || !(await found[0].revoke(token))) return undefined;
    return { policyId: found[0].policy.id, record: found[1] };
  }

  /**
   * Bulk revocation: every token of a credential or a subject under policy `policyId` issued
   * until now. Opaque sessions are deleted (`{ revoked: n }`); self-contained tokens are refused
   * from now on by a "not before" stamp (`{ notBefore }`). See docs/revocation.md.
   */
  revokeAll(policyId: string, owner: TokenOwner): Promise<BulkRevoked> {
    return this.#set.get(policyId).revokeAll(owner);
  }

  /** RFC 7662: what the token is, or `{ active: false }`. Does not use up single-use tokens. */
  async introspect(token: string, policyId?: string): Promise<Introspection> {
    const found = await this.#find(token, policyId);
    if (found === undefined) return { active: false };
    const [runtime, record] = found;
    const issuer = record.claims?.['iss'];
    return {
      active: true,
      policy: runtime.policy.id,
      token_type: runtime.policy.style,
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
    return set.get(policyId).infoRoutes;
  }

  /** Renders an outcome in the reply format the request chose (the default when it chose badly). */
  reply(policyId: string, outcome: Outcome, request?: TokenRequest, set: PolicySet = this.#set): Reply {
    return set.get(policyId).reply(outcome, request);
  }

  /** See `PolicyRuntime.replyVerified`. */
  replyVerified(policyId: string, verified: Verified, request: TokenRequest, set: PolicySet = this.#set): Reply | undefined {
    return set.get(policyId).replyVerified(verified, request);
  }

  /** The runtime under which `token` is valid now (only `policyId`'s when given). */
  async #find(token: string, policyId: string | undefined): Promise<[PolicyRuntime, TokenRecord] | undefined> {
    const set = this.#set;
    const candidates = policyId === undefined ? set.runtimes : [set.get(policyId)];
    for (const runtime of candidates) {
      try {
        return [runtime, await runtime.inspect(token)];
      } catch (err) {
        if (hasCode(err, 'ERR_STORE_UNAVAILABLE')) throw err;
      }
    }
    return undefined;
  }

  #notify(event: 'lockout', policyId: string, lock?: LockStarted): void;
  #notify(event: 'storeError' | 'storeFull'): void;
  #notify(event: 'lockout' | 'storeError' | 'storeFull', policyId?: string, lock?: LockStarted): void {
    for (const observer of this.#observers) {
      try {
        if (event === 'lockout') observer.lockout?.(policyId as string, lock);
        else if (event === 'storeFull') observer.storeFull?.();
        else observer.storeError?.();
      } catch {
        // An observer (metrics) must never change a request's outcome.
      }
    }
  }
}

/** Calls an observer: what it throws must never change a request's outcome. */
function quietly(call: () => void): void {
  try {
    call();
  } catch {
    // ignored on purpose (see above)
  }
}
