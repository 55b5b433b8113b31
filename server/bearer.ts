import { timingSafeEqual } from 'node:crypto';
import { sha256Bytes } from '../core/digest.js';

/**
 * A constant-time check of `Authorization: Bearer <secret>`. Both sides are hashed first, so
 * neither the comparison nor its length leaks anything. With no secret configured, every
 * header is refused.
 *
 * @example const isAdmin = bearerMatcher(process.env.ADMIN_SECRET); isAdmin(ctx.get('authorization'))
 */
export function bearerMatcher(secret: string | undefined): (authorization: string) => boolean {
  const expected = secret === undefined ? undefined : sha256Bytes(secret);
  return (authorization) => {
    const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    const digest = sha256Bytes(given ?? '');
    return expected !== undefined && given !== undefined && timingSafeEqual(digest, expected);
  };
}
