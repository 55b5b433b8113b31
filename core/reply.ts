/**
 * What every reply encoder and the host share about failures: what a client may see of an
 * error, the generic JSON error reply, the vendor code a table gives an error, and the
 * challenge a protected route's refusal gets. Errors carry their own reply headers
 * (`TokenSmithError.headers`), which the host sends with whatever reply an encoder makes.
 */
import type { ErrorCode, TokenSmithError } from './errors.js';
import type { Outcome, Reply } from './ports.js';

/** What a client sees of an error: its code, and its message only when the error allows it. */
export function describeError(error: TokenSmithError): { error: string; error_description: string } {
  return { error: error.code, error_description: error.expose ? error.message : 'internal error' };
}

/** The generic JSON error reply: `{"error": "ERR_…", "error_description": "…"}` with the error's status. */
export function jsonErrorReply(error: TokenSmithError): Reply {
  return { status: error.status, contentType: 'application/json', body: JSON.stringify(describeError(error)) };
}

/**
 * An error's entry in a vendor code table, or `fallback` for a code the table cannot have (a
 * plugin's own error). The table is typed over every tokensmith code, so a new code that
 * nobody mapped fails to compile instead of falling back silently.
 *
 * @example vendorCode(MELISSA_CODES, error.code, 'TE99')
 */
export function vendorCode<T>(table: Readonly<Record<ErrorCode, T>>, code: string, fallback: T): T {
  return Object.hasOwn(table, code) ? table[code as ErrorCode] : fallback;
}

/** Characters RFC 6750 allows in a scope token (and so safe inside the quoted header value). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,64}$/;

/**
 * The RFC 6750 §3 challenge (`WWW-Authenticate`) for a protected route's refusal, given the
 * status its reply got: a 401 (RFC 9110 requires a challenge with it) says `invalid_token`, or
 * nothing more when no token was presented; a 403 for a scope the token lacks says
 * `insufficient_scope`. `undefined` for any other reply: vendor replies that answer 200 with
 * their own code get none.
 *
 * @example bearerChallenge('emalidate', 401, err) // 'Bearer realm="emalidate", error="invalid_token", error_description="ERR_TOKEN_EXPIRED"'
 */
export function bearerChallenge(policyId: string, status: number, error: TokenSmithError): string | undefined {
  const realm = `Bearer realm="${policyId}"`;
  if (status === 401) return error.code === 'ERR_TOKEN_MISSING' ? realm : `${realm}, error="invalid_token", error_description="${error.code}"`;
  if (status === 403 && error.code === 'ERR_TOKEN_SCOPE') {
    const scope = error.claim !== undefined && SCOPE_TOKEN.test(error.claim) ? `, scope="${error.claim}"` : '';
    return `${realm}, error="insufficient_scope", error_description="${error.code}"${scope}`;
  }
  return undefined;
}

/**
 * The HTTP status of a vendor-format reply: the vendors answer 200 with their own code in the
 * body, except a rate limit, which answers 429 (as Melissa's service does, and as HTTP clients'
 * retry logic expects) with the vendor's body and `Retry-After`.
 *
 * @example vendorStatus(new RateLimitedError('too many requests', 30_000)) // 429
 */
export function vendorStatus(outcome: Outcome): number {
  return !outcome.ok && outcome.error.code === 'ERR_RATE_LIMITED' ? 429 : 200;
}
