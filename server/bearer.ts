import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * A constant-time check of `Authorization: Bearer <secret>`. Both sides are hashed first, so
 * neither the comparison nor its length leaks anything. With no secret configured, every
 * header is refused.
 *
 * @example const isAdmin = bearerMatcher(process.env.ADMIN_SECRET); isAdmin(ctx.get('authorization'))
 */
export function bearerMatcher(secret: string | undefined): (authorization: string) => boolean {
  const expected = secret === undefined ? undefined : createHash('sha256').update(secret).digest();
  return (authorization) => {
    const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    const digest = createHash('sha256').update(given ?? '').digest();
    return expected !== undefined && given !== undefined && timingSafeEqual(digest, expected);
  };
}
