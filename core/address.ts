import { isIP } from 'node:net';

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
