import { BlockList, isIP } from 'node:net';
import { normalizeAddress } from '../core/address.js';

/**
 * Which direct peers are trusted proxies, from a list of addresses and CIDR ranges
 * (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`). Invalid entries throw `TypeError` at start-up.
 *
 * Link-local peers carry a zone id (`fe80::1%eth0`). An entry without one (`fe80::1`,
 * `fe80::/10`) trusts the address on every link of the host; an entry with one
 * (`fe80::1%eth0`) trusts it on that link only. A range cannot name a zone.
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  /** Zoned entries, matched as whole normalised text. */
  readonly #zoned = new Set<string>();
  readonly size: number;

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim();
      const [address = '', prefix] = entry.split('/');
      const normalized = normalizeAddress(address);
      if (normalized === undefined) throw new TypeError(`trusted proxy "${entry}" is not an IP address or CIDR range`);
      const family = isIP(withoutZone(normalized)) === 6 ? 'ipv6' : 'ipv4';
      if (normalized.includes('%')) {
        if (prefix !== undefined) throw new TypeError(`trusted proxy "${entry}" is a range with a zone id; give the range without it`);
        this.#zoned.add(normalized);
      } else if (prefix === undefined) {
        this.#list.addAddress(normalized, family);
      } else {
        const bits = Number(prefix);
        if (!Number.isInteger(bits) || bits < 0 || bits > (family === 'ipv4' ? 32 : 128) || !/^\d+$/.test(prefix)) {
          throw new TypeError(`trusted proxy "${entry}" has an invalid prefix length`);
        }
        this.#list.addSubnet(normalized, bits, family);
      }
    }
    this.size = entries.length;
  }

  has(address: string): boolean {
    if (this.size === 0) return false;
    const normalized = normalizeAddress(address);
    if (normalized === undefined) return false;
    if (this.#zoned.has(normalized)) return true;
    const bare = withoutZone(normalized);
    return this.#list.check(bare, isIP(bare) === 6 ? 'ipv6' : 'ipv4');
  }
}

/** A normalised address without its zone id (`fe80::1%eth0` → `fe80::1`). */
function withoutZone(normalized: string): string {
  const at = normalized.indexOf('%');
  return at < 0 ? normalized : normalized.slice(0, at);
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
