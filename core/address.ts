import { isIP } from 'node:net';

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
