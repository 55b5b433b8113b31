import { timingSafeEqual } from 'node:crypto';
import { sha256Bytes } from '../core/digest.js';

/**
 * A constant-time check of `Authorization: Bearer <secret>` against several secrets: the index
 * of the secret the header carries, or -1. Both sides are hashed first, so neither a comparison
 * nor its length leaks anything, and every secret is compared every time (no early exit), so
 * the time taken says neither which secret matched nor whether one did. With no secrets, every
 * header is refused.
 *
 * @example const which = bearerMatcher([opsSecret, scrapeSecret]); which(ctx.get('authorization')) // 0, 1 or -1
 */
export function bearerMatcher(secrets: readonly string[]): (authorization: string) => number {
  const expected = secrets.map((secret) => sha256Bytes(secret));
  return (authorization) => {
    const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    const digest = sha256Bytes(given ?? '');
    let found = -1;
    for (let i = 0; i < expected.length; i++) {
      if (timingSafeEqual(digest, expected[i] as Buffer)) found = i;
    }
    return given === undefined ? -1 : found;
  };
}
