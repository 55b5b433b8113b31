/**
 * What the styles that mint JWTs (emalidate, jwt) share: reading the client credentials and
 * `expires_in`, turning jose's errors into ours, and reading a verified token's claims into a record.
 */
import { errors } from 'jose';
import {
  RequestInvalidError, TokenAlgorithmError, TokenClaimError, TokenExpiredError, TokenMalformedError, TokenSignatureError,
  isTokenSmithError, type TokenSmithError,
} from './errors.js';
import type { GrantRequest, TokenRecord, TokenRequest } from './ports.js';

/**
 * The lifetime a caller asks for with `expires_in` (whole seconds, 1 to 999,999,999), in ms;
 * `undefined` when it asks for none.
 */
export function expiresInMs(value: string | undefined, policyId: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(value)) {
    throw new RequestInvalidError('parameter expires_in must be a whole number of seconds', { policyId, claim: 'expires_in' });
  }
  return Number(value) * 1000;
}

/**
 * The client credentials of an OAuth-style token request (RFC 6749 §2.3.1 as form or query
 * parameters): `client_id` as the credential id, `client_secret` as its secret, each when given.
 */
export function clientCredentials(request: TokenRequest): GrantRequest {
  const grant: GrantRequest = {};
  const id = request.param('client_id');
  const secret = request.param('client_secret');
  if (id !== undefined) grant.credentialId = id;
  if (secret !== undefined) grant.secret = secret;
  return grant;
}

/** jose's errors as ours, each with its own stable code; ours pass through. */
export function fromJoseError(err: unknown, policyId: string): TokenSmithError {
  if (isTokenSmithError(err)) return err;
  if (err instanceof errors.JWTExpired) return new TokenExpiredError('the token has expired', { policyId, claim: err.claim });
  if (err instanceof errors.JWTClaimValidationFailed) {
    return new TokenClaimError(`claim ${err.claim} is invalid (${err.reason})`, { policyId, claim: err.claim, reason: err.reason });
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new TokenSignatureError('signature verification failed', { policyId });
  if (err instanceof errors.JOSEAlgNotAllowed) return new TokenAlgorithmError('algorithm not allowed', { policyId });
  return new TokenMalformedError('the token is not a well-formed JWT', { policyId, cause: err });
}

/**
 * The record of a verified JWT. The signature and the dates (`iat`, `exp` are numbers, within
 * the clock tolerance) are the verifier's to check first. Here: a lifetime no policy of ours
 * grants (`exp − iat` over `maxLifetimeS`, the policy's `ttl.max`) is a forged or foreign token
 * (as Vault and RFC 8725 advise); and the texts are checked, because single use and revocation
 * are keyed by `jti` and a binding (`cip`) must never be dropped for not being a string.
 *
 * @example const record = jwtRecord(payload, policy.id, maxLifetimeS); // after jose's jwtVerify
 */
export function jwtRecord(payload: Readonly<Record<string, unknown>>, policyId: string, maxLifetimeS: number): TokenRecord {
  if ((payload['exp'] as number) - (payload['iat'] as number) > maxLifetimeS) {
    throw new TokenClaimError('claim exp is further from iat than the policy\'s ttl.max', { policyId, claim: 'exp', reason: 'lifetime' });
  }
  const text = (claim: string): string | undefined => {
    const value = payload[claim];
    if (value === undefined || (typeof value === 'string' && (value !== '' || claim === 'scope'))) return value;
    throw new TokenClaimError(`claim ${claim} must be non-empty text`, { policyId, claim, reason: 'type' });
  };
  const jti = text('jti');
  const sub = text('sub');
  const scope = text('scope') ?? '';
  const cip = text('cip');
  const cid = text('cid');
  return {
    tokenId: jti as string,
    policyId,
    subject: sub as string,
    scopes: scope === '' ? [] : scope.split(' '),
    issuedAt: (payload['iat'] as number) * 1000,
    expiresAt: (payload['exp'] as number) * 1000,
    ...(cip === undefined ? {} : { boundAddress: cip }),
    ...(cid === undefined ? {} : { credentialId: cid }),
    claims: payload,
  };
}
