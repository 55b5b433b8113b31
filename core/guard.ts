/**
 * The guard contract: a policy rule (TTL, IP binding, lockout, single use, …) as a plugin. A
 * guard plugin owns policy keys (their JSON Schema is merged into the policy schema), names the
 * error codes it may refuse with, and hooks into the points of a request where rules apply. The
 * runtime runs the hooks of a policy's guards in their declared `order` and knows none by name.
 *
 * Every hook returns a `Promise` except `beforeMint`, which decides without waiting for anything;
 * `create` returns a plain value (it runs once, at compile time).
 */
import type { Credential, Policy } from './policy/types.js';
import type { Clock, GrantRequest, LockStarted, Store, TokenRecord, TokenRequest, VerifyExpectations } from './ports.js';

/** A JSON Schema object (draft-07), as a guard or style declares it. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** What a guard is given when it is made for a policy. */
export interface GuardDeps {
  /**
   * The engine's store. A failure here is reported as `ERR_STORE_UNAVAILABLE` (fail closed); a
   * `TokenSmithError` a store throws (such as `ERR_STORE_FULL`) passes through as it is.
   */
  readonly store: Store;
  readonly clock: Clock;
  /** Tells the engine's observers (metrics, audit) that this request started a lockout, and whose. */
  readonly lockoutStarted: (lock?: LockStarted) => void;
}

/**
 * One issue request on its way through the guards. The runtime fills in what the request and
 * the style say; guards read it and, before minting, decide what the token gets.
 */
export interface IssueAttempt {
  readonly policy: Policy;
  readonly request: TokenRequest;
  /** What the style read from the request. */
  readonly asked: GrantRequest;
  /** SHA-256 of the secret as sent, when one was: a guard keys on this, never on the secret. */
  readonly secretDigest: Buffer | undefined;
  /** The credential that matched, after the comparison; `undefined` when it failed (or before it). */
  readonly credential: Credential | undefined;
  /** The scopes the token will carry (set before minting; default none). */
  scopes: readonly string[];
  /** The token's lifetime in ms (set before minting; a policy with no guard that sets it cannot issue). */
  lifetimeMs: number | undefined;
  /** The address the token is bound to, if any. */
  boundAddress: string | undefined;
  /** Keeps a value for this request between two hooks of the same guard (keyed by the guard's name). */
  note(key: string, value: unknown): void;
  noted<T>(key: string): T | undefined;
}

/** One verification of a token whose integrity and expiry the token keeper has checked. */
export interface VerifyAttempt {
  readonly policy: Policy;
  readonly request: TokenRequest;
  readonly token: string;
  readonly record: TokenRecord;
  /**
   * `true` when a caller presents the token to use it; `false` when it is only inspected
   * (introspection, revocation): a guard then uses nothing up and checks nothing of the caller.
   */
  readonly presented: boolean;
  /** What the request and the route expect of the token (the style's expectations, the route's scopes). */
  readonly expectations: readonly VerifyExpectations[];
  /**
   * Marks the token used, in one atomic step with checking it was not: `true` for the one call
   * that did. The token keeper decides how (an opaque token's record is consumed; a
   * self-contained token's id is remembered until it expires).
   */
  useOnce(): Promise<boolean>;
}

/**
 * A guard made for one policy. Every hook is optional; a hook refuses by throwing a
 * `TokenSmithError` (a promise hook: by rejecting with one).
 */
export interface Guard {
  /** When an issue request arrives, before the style reads it (output: refuse a bad reply format first). */
  onRequest?(request: TokenRequest): Promise<void>;
  /** Before the presented credential is compared (lockout: refuse a locked subject). Only for policies with credentials. */
  beforeCredentials?(attempt: IssueAttempt): Promise<void>;
  /**
   * After the comparison, on success (`attempt.credential` set) and on failure (`undefined`);
   * on failure the request is then refused with `ERR_CREDENTIAL_INVALID` unless a hook throws
   * another refusal (lockout: `ERR_LOCKED_OUT`). Only for policies with credentials.
   */
  afterCredentials?(attempt: IssueAttempt): Promise<void>;
  /**
   * Before the token is minted: decides what it gets (scopes, lifetime, bound address), or
   * refuses. A plain function (no promise): it decides from what the request and the earlier
   * hooks gathered; a rule that needs the store at issue checks in `onRequest` or the credential hooks.
   */
  beforeMint?(attempt: IssueAttempt): void;
  /**
   * When a caller presents a token, before the token is looked at (opened, looked up in the
   * store): a rule about the caller alone refuses here, so a refused caller learns nothing of
   * the token and costs no lookup (rate limit per address, networks allowed to use tokens).
   * Not called for introspection or revocation.
   */
  beforeVerify?(request: TokenRequest): Promise<void>;
  /** On every verify (and inspection, see `presented`), after the token opened. */
  onVerify?(attempt: VerifyAttempt): Promise<void>;
}

/** The names of the hooks, in the order a request reaches them. */
export const GUARD_HOOKS = ['onRequest', 'beforeCredentials', 'afterCredentials', 'beforeMint', 'beforeVerify', 'onVerify'] as const;
export type GuardHook = (typeof GUARD_HOOKS)[number];

/**
 * A guard plugin: one rule, described once. Bound under `TYPES.Guard` and listed by name in the
 * module's manifest (`guards`). The built-in `plugins/guards/max-uses` in short:
 *
 * @example
 * ```ts
 * export const maxUses: GuardPlugin = {
 *   name: 'max-uses', order: 950, keys: { maxUses: { type: 'integer', minimum: 1 } }, codes: ['ERR_TOKEN_REUSED'],
 *   create: (policy, { store }) => (policy.rules['maxUses'] === undefined ? undefined : { onVerify: async (attempt) => { … } }),
 * };
 * ```
 */
export interface GuardPlugin {
  /** Unique among guards, e.g. `lockout`. */
  readonly name: string;
  /** Where it runs among the policy's guards: lower first (the built-in ones use 100 to 900). */
  readonly order: number;
  /** The top-level policy keys it owns, each with the JSON Schema of its value. */
  readonly keys: Readonly<Record<string, JsonSchema>>;
  /** The error codes its hooks may refuse with (each documented in docs/errors.md). */
  readonly codes: readonly string[];
  /**
   * `true` when its hooks never touch the store, directly or through `useOnce`: they decide
   * from the policy, the request and the token alone. Only policies whose guards are all
   * stateless may be served by workers that each keep their own memory store
   * (`serve --workers N --memory-per-worker`). Absent: the guard is taken to keep state.
   */
  readonly stateless?: boolean;
  /** Checks the schema cannot express; paths are JSON pointers from the policy's root (`/lockout/per`). */
  check?(policy: Policy): readonly { path: string; message: string }[];
  /** The guard for `policy`, or `undefined` when the policy does not use this rule. */
  create(policy: Policy, deps: GuardDeps): Guard | undefined;
}
