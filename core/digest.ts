import { hash, type BinaryLike } from 'node:crypto';

/**
 * SHA-256 of a text or bytes, base64url. `crypto.hash` is the one-shot form, cheaper than
 * `createHash().update().digest()` for the short inputs of the token request path (token keys,
 * credential digests, lockout keys).
 *
 * @example sha256('T:abc') // 43 base64url characters
 */
export function sha256(text: BinaryLike): string {
  return hash('sha256', text, 'base64url');
}

/**
 * SHA-256 as bytes, for constant-time comparison. Asked of `crypto.hash` as base64url and decoded
 * here, since its `'buffer'` output is the dearer of the two.
 */
export function sha256Bytes(text: BinaryLike): Buffer {
  return Buffer.from(hash('sha256', text, 'base64url'), 'base64url');
}
