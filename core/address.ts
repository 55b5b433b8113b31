import { BlockList, isIP } from 'node:net';

/**
 * A zone id (`%eth0`, `%3`) as RFC 6874 allows it in a URI: interface names and numbers. Others
 * (spaces, `%`, `:`, more than 64 characters) make the text no address at all.
 */
const ZONE = /^[A-Za-z0-9._~-]{1,64}$/;

/** RFC 5952 text of an IPv6 address without a zone (IPv4-mapped ones as IPv4), or `undefined`. */
function canonicalV6(address: string): string | undefined {
  let canonical: string;
  try {
    // URL's parser prints the canonical (RFC 5952) form of an IPv6 address.
    canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const high = Number.parseInt(mapped[1] as string, 16);
  const low = Number.parseInt(mapped[2] as string, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/**
 * Canonical text of an address so that `::ffff:10.0.0.1` and `10.0.0.1`, or `::1` and
 * `0:0:0:0:0:0:0:1`, compare equal. `undefined` when the text is not an IP address.
 *
 * An IPv6 zone id (`fe80::1%eth0`: which of the host's links a link-local address is on) is kept,
 * as given, after the canonical address: the same address on two links is two peers. A zone
 * outside RFC 6874's characters, or on an IPv4(-mapped) address, is not an address.
 *
 * @example normalizeAddress('::FFFF:127.0.0.1') // '127.0.0.1'
 * @example normalizeAddress('FE80:0::1%eth0') // 'fe80::1%eth0'
 */
export function normalizeAddress(text: string): string | undefined {
  let value = text.trim();
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  const kind = isIP(value);
  if (kind === 4) return value;
  if (kind !== 6) return undefined;
  const at = value.indexOf('%');
  if (at < 0) return canonicalV6(value);
  const zone = value.slice(at + 1);
  const canonical = ZONE.test(zone) ? canonicalV6(value.slice(0, at)) : undefined;
  return canonical === undefined || isIP(canonical) !== 6 ? undefined : `${canonical}%${zone}`;
}

/** A normalised address without its zone id (`fe80::1%eth0` → `fe80::1`). */
export function withoutZone(normalized: string): string {
  const at = normalized.indexOf('%');
  return at < 0 ? normalized : normalized.slice(0, at);
}

/**
 * What is wrong with an entry of an address list (`10.0.0.0/8`, `2001:db8::/32`, `::1`,
 * `fe80::1%eth0`), or `undefined` when it is a good one. Said after the entry's text.
 *
 * @example listEntryProblem('10.0.0.0/33') // 'has an invalid prefix length'
 */
export function listEntryProblem(entry: string): string | undefined {
  const parsed = parseEntry(entry);
  return typeof parsed === 'string' ? parsed : undefined;
}

type Entry = { zoned: string } | { address: string; family: 'ipv4' | 'ipv6'; prefix: number | undefined };

function parseEntry(raw: string): Entry | string {
  const entry = raw.trim();
  const slash = entry.indexOf('/');
  const text = slash < 0 ? entry : entry.slice(0, slash);
  const prefixText = slash < 0 ? undefined : entry.slice(slash + 1);
  const normalized = normalizeAddress(text);
  if (normalized === undefined) return 'is not an IP address or CIDR range';
  if (normalized.includes('%')) return prefixText === undefined ? { zoned: normalized } : 'is a range with a zone id; give the range without it';
  const family = isIP(normalized) === 6 ? 'ipv6' : 'ipv4';
  if (prefixText === undefined) return { address: normalized, family, prefix: undefined };
  // An IPv4-mapped range (`::ffff:10.0.0.0/104`) is the IPv4 range it maps: addresses are
  // compared in canonical form, where a mapped address is its IPv4 address.
  const mapped = family === 'ipv4' && text.includes(':') ? 96 : 0;
  const bits = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) - mapped : -1;
  if (bits < 0 || bits > (family === 'ipv4' ? 32 : 128)) {
    return mapped ? 'has an invalid prefix length (an IPv4-mapped range needs /96 to /128)' : 'has an invalid prefix length';
  }
  return { address: normalized, family, prefix: bits };
}

/**
 * A list of addresses and CIDR ranges, IPv4 and IPv6 (`127.0.0.1`, `10.0.0.0/8`, `::1`,
 * `fd00::/8`), matched with node's `BlockList`. Addresses are compared in canonical form, so
 * `::ffff:10.0.0.1` is in `10.0.0.0/8`, and `::ffff:10.0.0.0/104` is the range `10.0.0.0/8`.
 * Invalid entries throw `TypeError` (see {@link listEntryProblem}).
 *
 * Link-local peers carry a zone id (`fe80::1%eth0`). An entry without one (`fe80::1`,
 * `fe80::/10`) matches the address on every link of the host; an entry with one
 * (`fe80::1%eth0`) on that link only. A range cannot name a zone.
 *
 * @example new AddressList(['10.0.0.0/8', '2001:db8::/32']).has('::ffff:10.1.2.3') // true
 */
export class AddressList {
  readonly #list = new BlockList();
  /** Zoned entries, matched as whole normalised text. */
  readonly #zoned = new Set<string>();
  readonly size: number;

  /** `label` names an entry in an error's message (`trusted proxy "…" is not …`). */
  constructor(entries: readonly string[], label = 'address') {
    for (const raw of entries) {
      const entry = parseEntry(raw);
      if (typeof entry === 'string') throw new TypeError(`${label} "${raw.trim()}" ${entry}`);
      if ('zoned' in entry) this.#zoned.add(entry.zoned);
      else if (entry.prefix === undefined) this.#list.addAddress(entry.address, entry.family);
      else this.#list.addSubnet(entry.address, entry.prefix, entry.family);
    }
    this.size = entries.length;
  }

  /** Whether `address` (any spelling; `false` when it is no address) is in the list. */
  has(address: string): boolean {
    if (this.size === 0) return false;
    const normalized = normalizeAddress(address);
    if (normalized === undefined) return false;
    if (this.#zoned.has(normalized)) return true;
    const bare = withoutZone(normalized);
    return this.#list.check(bare, isIP(bare) === 6 ? 'ipv6' : 'ipv4');
  }
}

/**
 * What a caller's address is counted as, by the guards that count per address (lockout, rate
 * limit): an IPv4 address as itself, an IPv6 address as its /64. One subscriber or host is given
 * a whole /64, so counting single IPv6 addresses would let a caller start afresh with each of
 * its 2^64 addresses (and fill the store with counters); hosts that share a /64 share its count.
 *
 * @example addressBucket('2001:db8:1:2:a:b:c:d') // '2001:db8:1:2::/64'
 */
export function addressBucket(address: string): string {
  const normal = normalizeAddress(address) ?? address;
  if (!normal.includes(':')) return normal;
  const [head = '', tail = ''] = withoutZone(normal).split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const zeros = Array.from({ length: Math.max(0, 8 - left.length - right.length) }, () => '0');
  const groups = [...left, ...zeros, ...right];
  return `${groups.slice(0, 4).join(':')}::/64`;
}
