/**
 * The small interfaces (ports) the engine talks to. Plugins implement them and register the
 * implementation in an inversify `ContainerModule` under the identifiers of `core/ids.ts`.
 *
 * Each method either returns a `Promise` or a plain value, never "one or the other": the type
 * says which. The engine `await`s every promise it is given, so a promise-like object (a
 * thenable) from an outside plugin is awaited as a promise is.
 */
import type { HttpMethod, IssueRoute, Policy } from './policy/types.js';
import type { TokenSmithError } from './errors.js';

/** Time source, injected so tests can freeze and move time. Milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/** Randomness source, injected so tests can make it predictable. */
export interface Random {
  bytes(length: number): Buffer;
  /** A random (version 4) UUID, lower-case. */
  uuid(): string;
}

/**
 * Key–value store with expiry. Every method is atomic on its own; keys are opaque strings that
 * the engine namespaces (`<policyId>:…`). Implementations: `memory` (default) and `redis`.
 */
export interface Store {
  /** Sets `key` to `value`, expiring `ttlMs` from now. */
  put(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets `key` only when absent; `true` when this call set it. */
  putIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  get(key: string): Promise<string | undefined>;
  /** `true` when the key existed. */
  delete(key: string): Promise<boolean>;
  /** Atomically gets and deletes (single use). `undefined` when absent or already consumed. */
  consume(key: string): Promise<string | undefined>;
  /**
   * Atomically adds one to the counter at `key`; the window (`windowMs`) starts at the first
   * increment and is not extended by later ones. Returns the new count and when it resets.
   */
  increment(key: string, windowMs: number): Promise<{ count: number; resetAt: number }>;
  /** Deny-lists a token id until `expiresAt` (ms epoch), after which the entry is dropped. */
  deny(tokenId: string, expiresAt: number): Promise<void>;
  isDenied(tokenId: string): Promise<boolean>;
  /** Remaining lifetime of a key in ms, `undefined` when absent. */
  ttl(key: string): Promise<number | undefined>;
  close(): Promise<void>;
}

/** An optional store ability: says whether the store can serve now (`GET /readyz`). */
export interface ReadinessCheck {
  ready(): Promise<boolean>;
}

export function hasReadiness(store: Store): store is Store & ReadinessCheck {
  return typeof (store as Partial<ReadinessCheck>).ready === 'function';
}

/**
 * An optional store ability, for a store in the engine's own process: it keeps an opaque
 * token's record as an object, so neither issuing nor verifying encodes or parses it. The store
 * must not let a caller change what it holds through a record it hands out (the memory store
 * keeps a frozen copy). Records live under the same keys as any value (`delete`, `ttl` and
 * expiry apply); a key written with `put` reads here as absent. A store shared between
 * processes leaves it out and is given the record as text (`core/record.ts`).
 */
export interface RecordHolder {
  putRecord(key: string, record: TokenRecord, ttlMs: number): Promise<void>;
  getRecord(key: string): Promise<TokenRecord | undefined>;
  /** Atomically gets and deletes, as `consume`. */
  consumeRecord(key: string): Promise<TokenRecord | undefined>;
}

export function holdsRecords(store: Store): store is Store & RecordHolder {
  return typeof (store as Partial<RecordHolder>).putRecord === 'function';
}

/**
 * An optional store ability, for a store with a bound on lockout counters (the memory store's
 * `maxCounters`): whether `count` new counters fit now. The lockout guard asks before a secret
 * is compared, so that an attempt whose failure could not be counted is refused without
 * learning whether its secret was right. A store without a bound of its own (Redis, bounded by
 * its `maxmemory`) leaves it out.
 */
export interface CounterRoom {
  roomForCounters(count: number): Promise<boolean>;
}

export function hasCounterRoom(store: Store): store is Store & CounterRoom {
  return typeof (store as Partial<CounterRoom>).roomForCounters === 'function';
}

/** One live member of an {@link ExpiringIndex}: its value and how long it has left, in ms. */
export interface IndexEntry {
  readonly member: string;
  readonly value: string;
  readonly ttlMs: number;
}

/**
 * An optional store ability: small named sets whose members each expire on their own, so that
 * what a policy keeps under many unrelated keys (its lockouts) can be listed without scanning
 * the keyspace. Members are kept apart from plain keys (`get` never sees them). The store does
 * not bound them: the caller adds members only for things it bounds itself (the lockout guard
 * adds one per lock, and a lock needs a counter). A store shared between hosts keeps each index
 * in one place (Redis: one hash slot), so each call is atomic on its own.
 */
export interface ExpiringIndex {
  /** Adds `member` to `index` with `value`, or replaces it, expiring `ttlMs` from now. */
  indexAdd(index: string, member: string, value: string, ttlMs: number): Promise<void>;
  /** The live members of `index`, those expiring soonest first, at most `limit`. */
  indexList(index: string, limit: number): Promise<IndexEntry[]>;
  /** `true` when `member` was in `index` (and live). */
  indexRemove(index: string, member: string): Promise<boolean>;
}

export function hasExpiringIndex(store: Store): store is Store & ExpiringIndex {
  return typeof (store as Partial<ExpiringIndex>).indexAdd === 'function';
}

/** Whose opaque sessions a bulk revocation names: a credential's, or a subject's (sessions with no credential id). */
export type SessionOwner = { readonly policyId: string; readonly credentialId: string } | { readonly policyId: string; readonly subject: string };

/**
 * An optional store ability, for bulk revocation (`POST /revoke` by `credential_id` or `sub`).
 * Implemented by the memory and Redis stores; a store without it issues and verifies as before,
 * and a bulk revocation through it is refused. Each method touches one key, so that a store
 * sharded by key (Redis Cluster) serves it from one shard.
 *
 * - Opaque sessions: `revokeSessions` deletes every live session of an owner. A store that
 *   finds them by reading its records (the memory store holds them as objects) needs nothing
 *   more; a store that holds records as text keeps a list per owner, written on issue with
 *   `indexSession` (Redis: a sorted set by expiry, dropping expired members as it goes).
 * - Self-contained tokens: a **stamp set** holds "not before" instants by name
 *   (`credential:…`, `subject:…`); a token issued at or before its owner's stamp is revoked.
 */
export interface BulkRevocation {
  /** Lists the session kept at `key` under `owner` until `expiresAt` (ms epoch, the engine's clock). */
  indexSession?(owner: SessionOwner, key: string, expiresAt: number): Promise<void>;
  /** Deletes every live session of `owner` (for a subject: those with that subject and no credential id); how many. */
  revokeSessions(owner: SessionOwner): Promise<number>;
  /**
   * Raises stamp `name` of the set at `key` to `at` (never lowers it), and keeps the set at
   * least `ttlMs` from now.
   */
  stampNotBefore(key: string, name: string, at: number, ttlMs: number): Promise<void>;
  /** The stamps `names` of the set at `key`, in that order (`undefined` where there is none). */
  notBefore(key: string, names: readonly string[]): Promise<(number | undefined)[]>;
}

export function hasBulkRevocation(store: Store): store is Store & BulkRevocation {
  return typeof (store as Partial<BulkRevocation>).revokeSessions === 'function';
}

/** Makes a store from the `--store` value (`memory`, `redis://…`). Bound `whenNamed(scheme)`. */
export type StoreFactory = (url: string, deps: { clock: Clock }) => Store;

/** The neutral form of one request, made by the HTTP layer or the CLI. */
export interface TokenRequest {
  /** Parameter value by name (query and body merged; case rule from the policy). */
  param(name: string): string | undefined;
  /** The caller's address, after trusted-proxy resolution. */
  readonly clientAddress: string;
  /** Bearer token from the `Authorization` header, when one was sent. */
  readonly bearer?: string;
  /** A reply format the route imposes (overrides the output parameter). */
  readonly format?: string;
  /**
   * `true` when the route fixed parameters on the server (its `preset`: a same-origin helper's
   * licence). The caller then proved nothing those parameters say: the request's success resets
   * no lockout count, and its token lives the policy's default lifetime whatever the caller asks.
   */
  readonly preset?: boolean;
}

/** What a style reads from a vendor issue request. */
export interface GrantRequest {
  /** Credential id as sent (Electa `CID`); absent for secret-only styles. */
  credentialId?: string;
  /** Secret as sent (licence, app key). */
  secret?: string;
  /** Scopes asked for (Melissa packages); absent = all the credential may have. */
  scopes?: readonly string[];
  /** Requested lifetime in ms (clamped by the TTL guard). */
  ttlMs?: number;
  /**
   * Style-specific values read from the request (XDOC's user fields), handed to `mint`
   * unchanged in `Grant.claims` once every guard has passed.
   */
  claims?: Readonly<Record<string, string>>;
}

/** What the engine hands the style to mint, after every guard has passed. */
export interface Grant {
  readonly policy: Policy;
  readonly credentialId?: string;
  readonly subject?: string;
  readonly scopes: readonly string[];
  readonly boundAddress?: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** A fresh random id (UUID) the style may use as `jti`. */
  readonly tokenId: string;
  /** What the style's `readGrant` returned in `GrantRequest.claims`. */
  readonly claims?: Readonly<Record<string, string>>;
}

/** The engine's view of any valid token, opaque or self-contained. Times in ms epoch. */
export interface TokenRecord {
  readonly tokenId: string;
  readonly policyId: string;
  readonly subject?: string;
  readonly credentialId?: string;
  readonly scopes: readonly string[];
  readonly boundAddress?: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** Style-specific claims shown by introspection (never secrets). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** Expectations a verify request adds (Electa's `CID`, a route's required package). */
export interface VerifyExpectations {
  credentialId?: string;
  scopes?: readonly string[];
}

/**
 * One policy's instance of a token style, made once at load time (keys imported, settings read).
 * Opaque styles implement only this; self-contained ones also {@link SelfContainedStyle}.
 */
export interface StyleInstance {
  /** Reads the vendor's issue parameters. Throws `RequestInvalidError` on malformed input. */
  readGrant(request: TokenRequest): GrantRequest;
  /** Where this style's callers put the token (Melissa `id`, Electa `Token`, a Bearer header). */
  presentedToken(request: TokenRequest): string | undefined;
  /** What the verify request itself requires of the token (Electa: same `CID`). */
  expectations?(request: TokenRequest): VerifyExpectations;
  /** Makes the token string. Opaque styles return random text; the engine stores the record. */
  mint(grant: Grant): Promise<MintedToken>;
}

export interface MintedToken {
  readonly token: string;
  /** The subject the style put in the token when the grant named none (a configured user). */
  readonly subject?: string;
  /** Style-specific claims to keep in the record (e.g. the JWT payload). */
  readonly claims?: Readonly<Record<string, unknown>>;
  /**
   * The token's id when the style derives it from the token itself (XDOC: a hash of the
   * ciphertext, since its plaintext has no `jti`), so that issue and verify agree; default the
   * grant's `tokenId`.
   */
  readonly tokenId?: string;
}

/** A style whose tokens carry their own claims (JWT, encrypted XDOC token). */
export interface SelfContainedStyle extends StyleInstance {
  /**
   * Checks the token's integrity and the style's own claims and returns its record.
   * Expiry is checked here with the policy's clock tolerance; the engine checks revocation,
   * binding and single use.
   */
  open(token: string, request: TokenRequest): Promise<TokenRecord>;
}

export function isSelfContained(style: StyleInstance): style is SelfContainedStyle {
  return typeof (style as Partial<SelfContainedStyle>).open === 'function';
}

/**
 * An optional style ability: fixed replies that a vendor's clients read beside the issuing
 * routes (Melissa's SDKs ask `…/getversion` next to `…/RequestToken`). They carry no token and
 * take no credential; a path the policy already serves is not overridden.
 */
export interface InfoRoutes {
  infoRoutes(routes: readonly IssueRoute[]): readonly InfoRoute[];
}

export interface InfoRoute {
  readonly path: string;
  readonly methods: readonly HttpMethod[];
  readonly reply: Reply;
  /** The reply format (one of the policy's `output.allowed`) a refusal here uses, e.g. a method not allowed. */
  readonly format?: string;
}

export function hasInfoRoutes(style: StyleInstance): style is StyleInstance & InfoRoutes {
  return typeof (style as Partial<InfoRoutes>).infoRoutes === 'function';
}

/**
 * An optional style ability: the public keys a policy publishes as a JWKS (the `jwt` style),
 * which the host also lists at `GET /.well-known/jwks.json`. Public members only.
 */
export interface KeyPublisher {
  readonly publishedKeys: PublishedKeys | undefined;
}

export interface PublishedKeys {
  readonly keys: readonly Readonly<Record<string, string>>[];
  /** `Cache-Control: max-age` of the replies that list them, in seconds. */
  readonly maxAgeS: number;
}

export function publishesKeys(style: StyleInstance): style is StyleInstance & KeyPublisher {
  return (style as Partial<KeyPublisher>).publishedKeys !== undefined;
}

/** A token style plugin (signer side), bound `whenNamed(name)`. */
export interface TokenStyle {
  /** Makes the per-policy instance. Runs once per load; errors here fail the load. */
  create(policy: Policy, deps: { clock: Clock; random: Random }): Promise<StyleInstance>;
}

/** Success or failure handed to a reply encoder. */
export type Outcome =
  | { readonly ok: true; readonly token: string; readonly record: TokenRecord }
  | { readonly ok: false; readonly error: TokenSmithError };

export interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Renders an outcome in one wire format. Bound `whenNamed(name)`, e.g. `json`, `melissa-xml`. */
export interface ReplyEncoder {
  encode(outcome: Outcome, policy: Policy): Reply;
}

/**
 * What a protected route that answers in the vendor's format (a route with `echo`) hands the
 * encoder once the token verified: the token's record and the parameters the route repeats,
 * in the order the policy lists them, as the request gave them.
 */
export interface Verified {
  readonly record: TokenRecord;
  readonly echo: readonly (readonly [name: string, value: string])[];
}

/** An optional encoder ability: renders a verified request (Electa's `launch.asp`, XDOC's XWS headers). */
export interface VerifiedEncoder {
  encodeVerified(verified: Verified, policy: Policy): Reply;
}

export function encodesVerified(encoder: ReplyEncoder): encoder is ReplyEncoder & VerifiedEncoder {
  return typeof (encoder as Partial<VerifiedEncoder>).encodeVerified === 'function';
}

/** A style's description, available without instantiating anything. */
export interface StyleManifest {
  readonly name: string;
  /** `opaque`: random tokens kept in the store. `self-contained`: signed/encrypted tokens. */
  readonly kind: 'opaque' | 'self-contained';
  /** JSON Schema of the style's settings block (the policy key named after the style). */
  readonly settingsSchema: Readonly<Record<string, unknown>>;
  /** Whether the settings block must be present. */
  readonly settingsRequired: boolean;
  /**
   * Semantic checks the schema cannot express; returns messages keyed by a path relative to
   * the settings block (`/keys/0/secret`).
   */
  check?(settings: Readonly<Record<string, unknown>>, policy: Policy): readonly { path: string; message: string }[];
  /** The key ids a policy publishes in the host's shared JWKS, with their paths in the block: no two served policies may share one. */
  publishedKeyIds?(settings: Readonly<Record<string, unknown>>): readonly { kid: string; path: string }[];
}

/** What one plugin module provides; every module binds one under `TYPES.PluginManifest`. */
export interface PluginManifest {
  readonly name: string;
  readonly styles?: readonly StyleManifest[];
  readonly encoders?: readonly string[];
  readonly stores?: readonly string[];
  /** Names of the guard plugins the module binds under `TYPES.Guard`. */
  readonly guards?: readonly string[];
}

/**
 * Listens to engine events (`Engine.observe`), for metrics and the audit trail. Called
 * synchronously on the request's path: keep it cheap; what it throws is ignored. An issue
 * request pays for `issued` and `refused` only while some observer has them.
 */
export interface EngineObserver {
  /** A failed attempt reached the policy's threshold and started a lock; `lock` says whose (a guard may leave it out). */
  lockout?(policyId: string, lock?: LockStarted): void;
  /** A token was issued under `policyId`. */
  issued?(policyId: string, request: TokenRequest, record: TokenRecord): void;
  /**
   * An issue request was refused: `error` is what was thrown (a `TokenSmithError` for every
   * refusal on purpose); `credentialId` is the id as the caller sent it, when the style reads
   * one (caller-chosen text, not proven).
   */
  refused?(policyId: string, request: TokenRequest, error: unknown, credentialId: string | undefined): void;
  /** A store call failed (the request fails closed with `ERR_STORE_UNAVAILABLE`). */
  storeError?(): void;
  /** The store had no room for what a request needed to keep (`ERR_STORE_FULL`); nothing was issued. */
  storeFull?(): void;
}

/** Whose lock a failed attempt started (see `EngineObserver.lockout`). */
export interface LockStarted {
  readonly request: TokenRequest;
  /** The credential id as sent, when the style reads one. */
  readonly credentialId: string | undefined;
  /** What the lock counts: the credential (or a secret-only style's secret) or the client address. */
  readonly subject: 'credential' | 'address';
}

/** Minimal structured logger (pino-compatible subset). Never pass secrets. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
