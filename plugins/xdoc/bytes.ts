/** Encodings an Init Vector may be given in; `utf16le` is .NET's `Encoding.Unicode`. */
export const IV_ENCODINGS = ['utf16le', 'utf8', 'ascii', 'hex', 'base64'] as const;
export type ByteEncoding = (typeof IV_ENCODINGS)[number];
/**
 * Encodings a raw key may be given in. `utf8` and `ascii` take the key as plain characters, as
 * integrators' samples write it (`encrypt(key, iv)` with a 32-character key for AES-256):
 * weaker than random bytes, since people pick characters, so hex or base64 stay the default.
 */
export const KEY_ENCODINGS = ['hex', 'base64', 'utf8', 'ascii'] as const;

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (text: string): boolean => !LONE_SURROGATE.test(text);

/** Standard Base64 with its padding, nothing else (Node's decoder would skip bad characters). */
export const isBase64 = (text: string): boolean => BASE64.test(text);

/**
 * The bytes of a setting written in `encoding`; `undefined` when the text is not valid in it
 * (Node's own decoders skip what they cannot read, which would hide a typo in a key).
 *
 * @example decodeBytes('@1B2c3D4', 'utf16le')?.length // 16
 */
export function decodeBytes(text: string, encoding: ByteEncoding | 'utf8'): Buffer | undefined {
  switch (encoding) {
    case 'hex':
      return HEX.test(text) ? Buffer.from(text, 'hex') : undefined;
    case 'base64':
      return isBase64(text) ? Buffer.from(text, 'base64') : undefined;
    case 'ascii':
      return /^\p{ASCII}*$/u.test(text) ? Buffer.from(text, 'latin1') : undefined;
    case 'utf8':
      return wellFormed(text) ? Buffer.from(text, 'utf8') : undefined;
    case 'utf16le':
      return wellFormed(text) ? Buffer.from(text, 'utf16le') : undefined;
  }
}
