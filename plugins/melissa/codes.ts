import type { TokenSmithError } from '../../core/errors.js';

/**
 * Melissa result codes for our error codes. `TE` codes answer token requests (the token
 * server's own family; `TE01` is the one seen publicly), `GE` codes answer a service that was
 * handed a token (`GE05` invalid licence/token, `GE08` package not enabled, `GE13` wrong address).
 * Every code is listed in docs/errors.md.
 */
const BY_CODE: Readonly<Record<string, string>> = {
  ERR_CREDENTIAL_INVALID: 'TE01',
  ERR_SCOPE_NOT_ALLOWED: 'TE02',
  ERR_IP_BINDING: 'TE04',
  ERR_LOCKED_OUT: 'TE05',
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
};

/** The Melissa code for an error; parameter problems are told apart by the parameter. */
export function melissaCode(error: TokenSmithError): string {
  if (error.code === 'ERR_REQUEST_INVALID') {
    if (error.claim === 'L') return 'TE01';
    if (error.claim === 'TS') return 'TE03';
  }
  return BY_CODE[error.code] ?? 'TE99';
}
