import { isIP } from 'node:net';
import { IpBindingError, TokenAddressMismatchError } from '../errors.js';
import type { Policy } from '../policy/types.js';
import type { TokenRecord, TokenRequest } from '../ports.js';

/**
 * Canonical text of an address so that `::ffff:10.0.0.1` and `10.0.0.1`, or `::1` and
 * `0:0:0:0:0:0:0:1`, compare equal. `undefined` when the text is not an IP address.
 *
 * @example normalizeAddress('::FFFF:127.0.0.1') // '127.0.0.1'
 */
export function normalizeAddress(text: string): string | undefined {
  let value = text.trim();
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  const kind = isIP(value);
  if (kind === 4) return value;
  if (kind !== 6) return undefined;
  // URL's parser prints the canonical (RFC 5952) form of an IPv6 address.
  const canonical = new URL(`http://[${value}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const high = Number.parseInt(mapped[1] as string, 16);
  const low = Number.parseInt(mapped[2] as string, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/**
 * IP-binding guard at issue time: the address the new token is bound to, or `undefined`.
 * - `off`: never bound;
 * - `param`: bound to the address the caller names in the policy's parameter, when given;
 * - `required`: as `param`, but the parameter must be given;
 * - `caller`: bound to the caller's own address.
 */
export function bindAddress(policy: Policy, request: TokenRequest): string | undefined {
  const { mode, param } = policy.ipBinding;
  if (mode === 'off') return undefined;
  if (mode === 'caller') return normalizeAddress(request.clientAddress) ?? request.clientAddress;
  const named = request.param(param);
  if (named === undefined || named === '') {
    if (mode === 'required') {
      throw new IpBindingError(`parameter ${param} (the address to bind the token to) is required`, {
        policyId: policy.id,
        claim: param,
      });
    }
    return undefined;
  }
  const address = normalizeAddress(named);
  if (address === undefined) {
    throw new IpBindingError(`parameter ${param} is not an IP address`, { policyId: policy.id, claim: param, reason: 'invalid' });
  }
  return address;
}

/** IP-binding guard at verify time: a bound token is only good from its address. */
export function checkBinding(policy: Policy, record: TokenRecord, request: TokenRequest): void {
  if (record.boundAddress === undefined) return;
  if ((normalizeAddress(request.clientAddress) ?? request.clientAddress) !== record.boundAddress) {
    throw new TokenAddressMismatchError('the token is bound to another address', { policyId: policy.id });
  }
}
