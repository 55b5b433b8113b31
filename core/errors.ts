/**
 * Domain errors. Every error tokensmith raises on purpose is a subclass of
 * {@link TokenSmithError} with a stable `code` (documented in `docs/errors.md`; a test keeps the
 * two in step). Callers `switch (err.code)`. Programming mistakes throw `TypeError` instead.
 *
 * `status` is the HTTP status the one error middleware uses, `expose` says whether the message
 * may reach a client, and `headers` are reply headers the error asks for (as Koa's
 * `err.headers`): the host sends them whatever encoder renders the body. Messages never contain
 * a secret, a token or a key. {@link ErrorCode} is the union of every class's code.
 *
 * @example
 * ```ts
 * try { await engine.verify('emalidate', token, request) }
 * catch (err) { if (isTokenSmithError(err) && err.code === 'ERR_TOKEN_EXPIRED') … }
 * ```
 */
export interface ErrorDetails {
  policyId?: string;
  /** The claim, parameter or setting the error is about. */
  claim?: string;
  /** A short machine-readable reason within the code. */
  reason?: string;
  /** Reply headers the error asks for (`Retry-After`, `WWW-Authenticate`), names in lower case. */
  headers?: Readonly<Record<string, string>>;
  cause?: unknown;
}

/**
 * The mark every tokensmith error carries, shared by every copy of the package through the
 * global symbol registry: a plugin that resolved its own copy of `tokensmith` throws errors of
 * that copy's classes, which `instanceof` in the host's copy does not recognise.
 */
const BRAND = Symbol.for('tokensmith/error');

export abstract class TokenSmithError extends Error {
  abstract readonly code: string;
  /** See {@link isTokenSmithError}. */
  readonly [BRAND] = true;
  /** HTTP status used when the error reaches a client. */
  readonly status: number = 400;
  /** Whether `message` may be shown to a client. */
  readonly expose: boolean = true;
  readonly policyId: string | undefined;
  readonly claim: string | undefined;
  readonly reason: string | undefined;
  /**
   * Reply headers the error asks for, names in lower case (Koa's `err.headers`). The host sends
   * them with whatever reply the policy's encoder makes, so an encoder never has to know which
   * errors carry which headers.
   */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.policyId = details.policyId;
    this.claim = details.claim;
    this.reason = details.reason;
    this.headers = details.headers;
  }
}

/** One problem found in a policy file, with its position. */
export interface PolicyIssue {
  file: string;
  line: number;
  col: number;
  /** JSON-pointer-like path in the document, e.g. `/ttl/default`. */
  path: string;
  message: string;
}

export function formatPolicyIssue(issue: PolicyIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${issue.path || '/'}: ${issue.message}`;
}

/** A policy file (or set of files) could not be loaded; `issues` lists every problem found. */
export class PolicyInvalidError extends TokenSmithError {
  readonly code = 'ERR_POLICY_INVALID';
  override readonly status = 500;
  override readonly expose = false;
  readonly issues: readonly PolicyIssue[];
  constructor(issues: readonly PolicyIssue[]) {
    super(issues.map(formatPolicyIssue).join('\n'));
    this.issues = issues;
  }
}

/** A name a policy or command line gives (style, encoder, store) is not registered. */
export class PluginUnknownError extends TokenSmithError {
  readonly code = 'ERR_PLUGIN_UNKNOWN';
  override readonly status = 500;
  override readonly expose = false;
}

/** A plugin module given by path could not be loaded or does not export a ContainerModule. */
export class PluginLoadError extends TokenSmithError {
  readonly code = 'ERR_PLUGIN_LOAD';
  override readonly status = 500;
  override readonly expose = false;
}

/** No policy with the id asked for. */
export class PolicyUnknownError extends TokenSmithError {
  readonly code = 'ERR_POLICY_UNKNOWN';
  override readonly status = 404;
}

/** A required request parameter is missing, repeated or malformed. */
export class RequestInvalidError extends TokenSmithError {
  readonly code = 'ERR_REQUEST_INVALID';
}

/** The reply format asked for is not one the policy allows. */
export class FormatNotAllowedError extends TokenSmithError {
  readonly code = 'ERR_FORMAT_NOT_ALLOWED';
}

/** Credential id unknown or secret wrong (deliberately indistinguishable). */
export class CredentialInvalidError extends TokenSmithError {
  readonly code = 'ERR_CREDENTIAL_INVALID';
  override readonly status = 401;
}

/**
 * Too many failed attempts: the credential or address is locked until `retryAfterMs` passes, or,
 * when it is `undefined` (a permanent lock), until an operator lifts the lock: then no `Retry-After`.
 */
export class LockedOutError extends TokenSmithError {
  readonly code = 'ERR_LOCKED_OUT';
  override readonly status = 429;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined, details: ErrorDetails = {}) {
    super(message, retryAfterMs === undefined ? details : { ...details, headers: { ...details.headers, 'retry-after': String(Math.ceil(retryAfterMs / 1000)) } });
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The caller sent more requests than the policy's `rateLimit` allows in the current window (per
 * address or per credential); `Retry-After` says when the window ends.
 */
export class RateLimitedError extends TokenSmithError {
  readonly code = 'ERR_RATE_LIMITED';
  override readonly status = 429;
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, details: ErrorDetails = {}) {
    super(message, { ...details, headers: { ...details.headers, 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } });
    this.retryAfterMs = retryAfterMs;
  }
}

/** The credential may not have one of the scopes (packages) asked for. */
export class ScopeNotAllowedError extends TokenSmithError {
  readonly code = 'ERR_SCOPE_NOT_ALLOWED';
  override readonly status = 403;
}

/** The policy requires an address to bind the token to and none (or an invalid one) was given. */
export class IpBindingError extends TokenSmithError {
  readonly code = 'ERR_IP_BINDING';
}

/** The caller's address is outside the networks the policy lets ask for tokens (`ipBinding.allow.issue`). */
export class AddressNotAllowedError extends TokenSmithError {
  readonly code = 'ERR_ADDRESS_NOT_ALLOWED';
  override readonly status = 403;
}

/** The token cannot be parsed at all. */
export class TokenMalformedError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_MALFORMED';
  override readonly status = 401;
}

/**
 * An encrypted token could not be opened: not Base64, too long, wrong length, wrong key, bad
 * padding, failed authentication tag, or a plaintext that is not a token. One code and one
 * message for all of these, so that a caller cannot tell them apart (no padding oracle).
 */
export class TokenUndecryptableError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_UNDECRYPTABLE';
  override readonly status = 401;
}

/** The token was made for another security context than the one presented with it (XDOC `Context` ≠ `XSC`). */
export class TokenContextMismatchError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_CONTEXT_MISMATCH';
  override readonly status = 403;
}

/** The token's algorithm is not in the policy's allow-list (including `none`). */
export class TokenAlgorithmError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_ALG_NOT_ALLOWED';
  override readonly status = 401;
}

/** The token names a key id the policy does not know. */
export class TokenKeyUnknownError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_KID_UNKNOWN';
  override readonly status = 401;
}

/** Signature or authentication tag does not match: the token was changed or not made by us. */
export class TokenSignatureError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_SIGNATURE';
  override readonly status = 401;
}

/** The token has expired (beyond the clock tolerance). */
export class TokenExpiredError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_EXPIRED';
  override readonly status = 401;
}

/** A claim has the wrong value or is missing (`claim` names it). */
export class TokenClaimError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_CLAIM_INVALID';
  override readonly status = 401;
}

/** The token was revoked. */
export class TokenRevokedError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_REVOKED';
  override readonly status = 401;
}

/** A single-use token was presented a second time. */
export class TokenReusedError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_REUSED';
  override readonly status = 401;
}

/** An opaque token is not known to the store (never issued, expired or revoked). */
export class TokenUnknownError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_UNKNOWN';
  override readonly status = 401;
}

/** No token was presented. */
export class TokenMissingError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_MISSING';
  override readonly status = 401;
}

/** The token is bound to another address than the caller's. */
export class TokenAddressMismatchError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_IP_MISMATCH';
  override readonly status = 403;
}

/** The token belongs to another credential (account) than the one presented with it. */
export class TokenCredentialMismatchError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_CREDENTIAL_MISMATCH';
  override readonly status = 403;
}

/** The token does not carry a scope (package) the protected route needs. */
export class TokenScopeError extends TokenSmithError {
  readonly code = 'ERR_TOKEN_SCOPE';
  override readonly status = 403;
}

/** The admin endpoints (introspect, revoke) were called without the admin secret. */
export class AdminUnauthorizedError extends TokenSmithError {
  readonly code = 'ERR_ADMIN_UNAUTHORIZED';
  override readonly status = 401;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { ...details, headers: { 'www-authenticate': 'Bearer realm="tokensmith-admin"', ...details.headers } });
  }
}

/** An admin credential was given for an action it may not do (`claim` names the action). */
export class AdminForbiddenError extends TokenSmithError {
  readonly code = 'ERR_ADMIN_FORBIDDEN';
  override readonly status = 403;
}

/** `GET /metrics` was called without the metrics secret (when one is configured). */
export class MetricsUnauthorizedError extends TokenSmithError {
  readonly code = 'ERR_METRICS_UNAUTHORIZED';
  override readonly status = 401;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { ...details, headers: { 'www-authenticate': 'Bearer realm="tokensmith-metrics"', ...details.headers } });
  }
}

/** A bulk revocation (by credential or subject) asked of a store that cannot do it (an outside store without `BulkRevocation`). */
export class RevokeUnsupportedError extends TokenSmithError {
  readonly code = 'ERR_REVOKE_UNSUPPORTED';
  override readonly status = 400;
}

/**
 * `GET /metrics` under `serve --workers N`: the primary could not gather every worker's counts
 * in time (a worker busy or restarting). Answered rather than one worker's counts alone.
 */
export class MetricsUnavailableError extends TokenSmithError {
  readonly code = 'ERR_METRICS_UNAVAILABLE';
  override readonly status = 503;
}

/** The store could not be reached; nothing was issued. */
export class StoreUnavailableError extends TokenSmithError {
  readonly code = 'ERR_STORE_UNAVAILABLE';
  override readonly status = 503;
}

/**
 * The store holds as many entries as it may (the memory store's `maxEntries`, or its
 * `maxCounters` for lockout counters): nothing new was kept and nothing was issued. Room comes
 * back as held entries expire; nothing is evicted to make it.
 */
export class StoreFullError extends TokenSmithError {
  readonly code = 'ERR_STORE_FULL';
  override readonly status = 503;
}

/** A store's settings (the `--store` value) cannot be used; `claim` names the setting. */
export class StoreOptionsInvalidError extends TokenSmithError {
  readonly code = 'ERR_STORE_OPTIONS';
  override readonly status = 500;
  override readonly expose = false;
}

/** An operator asked to lift a lock that does not exist (`POST /admin/lockouts/unlock`, `tokensmith lockouts unlock`). */
export class LockNotFoundError extends TokenSmithError {
  readonly code = 'ERR_LOCK_NOT_FOUND';
  override readonly status = 404;
}

/** HTTP-level: no route for this path. */
export class NotFoundError extends TokenSmithError {
  readonly code = 'ERR_NOT_FOUND';
  override readonly status = 404;
}

/** HTTP-level: the route exists but not for this method. */
export class MethodNotAllowedError extends TokenSmithError {
  readonly code = 'ERR_METHOD_NOT_ALLOWED';
  override readonly status = 405;
}

/** HTTP-level: the request body is larger than the configured limit. */
export class BodyTooLargeError extends TokenSmithError {
  readonly code = 'ERR_BODY_TOO_LARGE';
  override readonly status = 413;
}

/** HTTP-level: the request body could not be parsed. */
export class BodyInvalidError extends TokenSmithError {
  readonly code = 'ERR_BODY_INVALID';
}

/** Anything unexpected; its message is never shown to a client. */
export class InternalError extends TokenSmithError {
  readonly code = 'ERR_INTERNAL';
  override readonly status = 500;
  override readonly expose = false;
}

type ErrorModule = typeof import('./errors.js');

/**
 * Every stable code of tokensmith's own errors, derived from the classes above: a vendor code
 * table typed `Record<ErrorCode, …>` stops compiling when a class is added and not mapped.
 * A plugin's own errors have other codes; `TokenSmithError.code` stays a `string`.
 */
export type ErrorCode = {
  [K in keyof ErrorModule]: ErrorModule[K] extends new (...args: never[]) => { readonly code: infer C extends string } ? C : never;
}[keyof ErrorModule];

/**
 * Whether `err` is a tokensmith error, from this copy of the package or any other: by the
 * shared brand and a text `code`, not by `instanceof` alone. The engine, the error middleware
 * and the CLI recognise errors with it, so that a plugin with a second copy of tokensmith in its
 * own `node_modules` still gets its refusals rendered with their codes.
 *
 * @example
 * ```ts
 * try { await engine.verify('emalidate', token, request) }
 * catch (err) { if (isTokenSmithError(err)) console.log(err.code); else throw err; }
 * ```
 */
export function isTokenSmithError(err: unknown): err is TokenSmithError {
  if (err instanceof TokenSmithError) return true;
  return typeof err === 'object' && err !== null && (err as { [BRAND]?: unknown })[BRAND] === true && typeof (err as { code?: unknown }).code === 'string';
}

/**
 * Whether `err` is a tokensmith error with this code (from any copy of the package).
 *
 * @example if (hasCode(err, 'ERR_LOCKED_OUT')) console.log((err as LockedOutError).retryAfterMs ?? 'until an operator lifts it');
 */
export function hasCode<C extends string>(err: unknown, code: C): err is TokenSmithError & { readonly code: C } {
  return isTokenSmithError(err) && err.code === code;
}
