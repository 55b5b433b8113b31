import type { ErrorCode, TokenSmithError } from '../../core/errors.js';
import { vendorCode } from '../../core/reply.js';

/**
 * Melissa result codes for our error codes, every one of them (a new code does not compile
 * until it is mapped here). `TE` codes answer token requests (the token server's own family;
 * `TE01` is the one seen publicly), `GE` codes answer a service that was handed a token (`GE05`
 * invalid licence/token, `GE08` package not enabled, `GE13` wrong address); `TE99` is an
 * internal error. Every code is listed in docs/errors.md.
 */
const BY_CODE: Readonly<Record<ErrorCode, string>> = {
  ERR_CREDENTIAL_INVALID: 'TE01',
  ERR_SCOPE_NOT_ALLOWED: 'TE02',
  ERR_IP_BINDING: 'TE04',
  ERR_LOCKED_OUT: 'TE05',
  ERR_RATE_LIMITED: 'TE08',
  ERR_ADDRESS_NOT_ALLOWED: 'TE09',
  ERR_STORE_UNAVAILABLE: 'TE06',
  ERR_STORE_FULL: 'TE06',
  ERR_REQUEST_INVALID: 'TE07',
  ERR_FORMAT_NOT_ALLOWED: 'TE07',
  ERR_BODY_INVALID: 'TE07',
  ERR_BODY_TOO_LARGE: 'TE07',
  ERR_METHOD_NOT_ALLOWED: 'TE07',
  ERR_TOKEN_MISSING: 'GE05',
  ERR_TOKEN_MALFORMED: 'GE05',
  ERR_TOKEN_UNKNOWN: 'GE05',
  ERR_TOKEN_EXPIRED: 'GE05',
  ERR_TOKEN_REVOKED: 'GE05',
  ERR_TOKEN_REUSED: 'GE05',
  ERR_TOKEN_SCOPE: 'GE08',
  ERR_TOKEN_IP_MISMATCH: 'GE13',
  // Nothing a Melissa caller can act on: the vendor's internal error.
  ERR_POLICY_INVALID: 'TE99',
  ERR_PLUGIN_UNKNOWN: 'TE99',
  ERR_PLUGIN_LOAD: 'TE99',
  ERR_POLICY_UNKNOWN: 'TE99',
  ERR_TOKEN_UNDECRYPTABLE: 'TE99',
  ERR_TOKEN_CONTEXT_MISMATCH: 'TE99',
  ERR_TOKEN_ALG_NOT_ALLOWED: 'TE99',
  ERR_TOKEN_KID_UNKNOWN: 'TE99',
  ERR_TOKEN_SIGNATURE: 'TE99',
  ERR_TOKEN_CLAIM_INVALID: 'TE99',
  ERR_TOKEN_CREDENTIAL_MISMATCH: 'TE99',
  ERR_ADMIN_UNAUTHORIZED: 'TE99',
  ERR_ADMIN_FORBIDDEN: 'TE99',
  ERR_METRICS_UNAUTHORIZED: 'TE99',
  ERR_REVOKE_UNSUPPORTED: 'TE99',
  ERR_METRICS_UNAVAILABLE: 'TE99',
  ERR_STORE_OPTIONS: 'TE99',
  ERR_NOT_FOUND: 'TE99',
  ERR_LOCK_NOT_FOUND: 'TE99',
  ERR_INTERNAL: 'TE99',
};

/** The Melissa code for an error; parameter problems are told apart by the parameter. A plugin's own code is `TE99`. */
export function melissaCode(error: TokenSmithError): string {
  if (error.code === 'ERR_REQUEST_INVALID') {
    if (error.claim === 'L') return 'TE01';
    if (error.claim === 'TS') return 'TE03';
  }
  return vendorCode(BY_CODE, error.code, 'TE99');
}
