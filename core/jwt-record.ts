import { TokenClaimError } from './errors.js';
import type { TokenRecord } from './ports.js';

/**
 * The record of a verified JWT, for the styles that mint JWTs (emalidate, jwt). The signature and
 * the dates (`iat`, `exp` are numbers) are the verifier's to check first; the texts are checked
 * here, because single use and revocation are keyed by `jti` and a binding (`cip`) must never be
 * dropped for not being a string.
 *
 * @example const record = jwtRecord(payload, policy.id); // after jose's jwtVerify
 */
export function jwtRecord(payload: Readonly<Record<string, unknown>>, policyId: string): TokenRecord {
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
