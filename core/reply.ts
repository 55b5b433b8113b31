/**
 * What every reply encoder and the host share about failures: what a client may see of an
 * error, the generic JSON error reply, the vendor code a table gives an error, and the
 * challenge a refused bearer token gets. Errors carry their own reply headers
 * (`TokenSmithError.headers`), which the host sends with whatever reply an encoder makes.
 */
import type { ErrorCode, TokenSmithError } from './errors.js';
import type { Reply } from './ports.js';

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

/**
 * Adds the RFC 6750 challenge to a refused bearer token: `invalid_token` for a token that is
 * missing nothing but is not good (401, and the 403s that say it belongs elsewhere),
 * `insufficient_scope` for a token without the scope a route needs, `invalid_request` for a
 * malformed request. Failures of the service itself (5xx) get none: the token was not judged.
 *
 * @example throw bearerChallenge(err, policy.id)
 */
export function bearerChallenge(error: TokenSmithError, realm: string): TokenSmithError {
  const kind = error.status >= 500 ? undefined : error.code === 'ERR_TOKEN_SCOPE' ? 'insufficient_scope' : error.status === 400 ? 'invalid_request' : 'invalid_token';
  return kind === undefined ? error : error.withHeaders({ 'www-authenticate': `Bearer realm="${realm}", error="${kind}"` });
}
