import { AddressList, normalizeAddress } from '../core/address.js';

/**
 * Which direct peers are trusted proxies, from a list of addresses and CIDR ranges
 * (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`; zone ids as `AddressList` reads them).
 * Invalid entries throw `TypeError` at start-up.
 */
export class TrustedProxies extends AddressList {
  constructor(entries: readonly string[]) {
    super(entries, 'trusted proxy');
  }
}

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy, in which case
 * `X-Forwarded-For` is read right to left, skipping trusted proxies, and the first untrusted
 * hop is the client. A forged left-most entry is never believed.
 *
 * @example clientAddress('10.0.0.2', '203.0.113.7, 10.0.0.1', new TrustedProxies(['10.0.0.0/8'])) // '203.0.113.7'
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trusted: TrustedProxies): string {
  let current = normalizeAddress(peer) ?? peer;
  if (forwardedFor === undefined || !trusted.has(current)) return current;
  const hops = forwardedFor.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i] as string);
    if (hop === undefined) return current; // garbage in the header: stop at the last trusted peer's view
    current = hop;
    if (!trusted.has(current)) return current;
  }
  return current;
}
