import { hasCode, type ErrorCode, type LockedOutError, type RateLimitedError, type TokenSmithError } from '../../core/errors.js';
import { formatDuration } from '../../core/duration.js';
import { vendorCode } from '../../core/reply.js';

/**
 * Electa response codes (0 is success) for our error codes, every one of them (a new code does
 * not compile until it is mapped here); `9` is an internal error. Every one is listed in
 * docs/errors.md.
 */
const BY_CODE: Readonly<Record<ErrorCode, number>> = {
  ERR_CREDENTIAL_INVALID: 1,
  ERR_LOCKED_OUT: 2,
  ERR_RATE_LIMITED: 7,
  ERR_ADDRESS_NOT_ALLOWED: 10,
  ERR_REQUEST_INVALID: 3,
  ERR_FORMAT_NOT_ALLOWED: 3,
  ERR_BODY_INVALID: 3,
  ERR_BODY_TOO_LARGE: 3,
  ERR_METHOD_NOT_ALLOWED: 3,
  ERR_TOKEN_MISSING: 4,
  ERR_TOKEN_MALFORMED: 4,
  ERR_TOKEN_UNKNOWN: 4,
  ERR_TOKEN_EXPIRED: 4,
  ERR_TOKEN_REVOKED: 4,
  ERR_TOKEN_REUSED: 4,
  ERR_TOKEN_CREDENTIAL_MISMATCH: 5,
  ERR_TOKEN_IP_MISMATCH: 6,
  ERR_STORE_UNAVAILABLE: 8,
  ERR_STORE_FULL: 8,
  // Nothing an Electa caller can act on: the internal error.
  ERR_POLICY_INVALID: 9,
  ERR_PLUGIN_UNKNOWN: 9,
  ERR_PLUGIN_LOAD: 9,
  ERR_POLICY_UNKNOWN: 9,
  ERR_SCOPE_NOT_ALLOWED: 9,
  ERR_IP_BINDING: 9,
  ERR_TOKEN_UNDECRYPTABLE: 9,
  ERR_TOKEN_CONTEXT_MISMATCH: 9,
  ERR_TOKEN_ALG_NOT_ALLOWED: 9,
  ERR_TOKEN_KID_UNKNOWN: 9,
  ERR_TOKEN_SIGNATURE: 9,
  ERR_TOKEN_CLAIM_INVALID: 9,
  ERR_TOKEN_SCOPE: 9,
  ERR_ADMIN_UNAUTHORIZED: 9,
  ERR_ADMIN_FORBIDDEN: 9,
  ERR_METRICS_UNAUTHORIZED: 9,
  ERR_REVOKE_UNSUPPORTED: 9,
  ERR_METRICS_UNAVAILABLE: 9,
  ERR_STORE_OPTIONS: 9,
  ERR_NOT_FOUND: 9,
  ERR_LOCK_NOT_FOUND: 9,
  ERR_INTERNAL: 9,
};

/** The Electa code and description for an error; descriptions hold no commas (CSV). */
export function electaFailure(error: TokenSmithError): { code: number; description: string } {
  const code = vendorCode(BY_CODE, error.code, 9);
  switch (code) {
    case 1:
      return { code, description: 'Invalid Account or Application Key' };
    case 2: {
      const retryAfterMs = hasCode(error, 'ERR_LOCKED_OUT') ? (error as LockedOutError).retryAfterMs : 0;
      if (retryAfterMs === undefined) return { code, description: 'API access is locked after too many failed attempts; ask the administrator to unlock it' };
      const wait = retryAfterMs > 0 ? formatDuration(Math.ceil(retryAfterMs / 60_000) * 60_000) : 'a while';
      return { code, description: `API access is locked after too many failed attempts; try again in ${wait}` };
    }
    case 3:
      return { code, description: `Invalid request: ${error.expose ? error.message.replace(/[,\r\n]/g, ';') : 'bad input'}` };
    case 4:
      return { code, description: 'Invalid or expired session token' };
    case 5:
      return { code, description: 'Session token belongs to another account' };
    case 6:
      return { code, description: 'Session token used from another address' };
    case 7: {
      const wait = hasCode(error, 'ERR_RATE_LIMITED') ? formatDuration(Math.max(1, Math.ceil((error as RateLimitedError).retryAfterMs / 1000)) * 1000) : 'a while';
      return { code, description: `Too many requests; try again in ${wait}` };
    }
    case 8:
      return { code, description: 'Service temporarily unavailable' };
    case 10:
      return { code, description: 'API access is not allowed from this address' };
    default:
      return { code, description: 'Internal error' };
  }
}
