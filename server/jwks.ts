import type { Context, Middleware, Next } from 'koa';
import type { Engine, PolicySet } from '../core/engine.js';
import { MethodNotAllowedError } from '../core/errors.js';

/** Where the host lists the public keys of every served policy that publishes some. */
export const SHARED_JWKS_PATH = '/.well-known/jwks.json';

/**
 * `GET /.well-known/jwks.json`: the keys of every served policy that publishes a JWKS, in policy
 * order, with the shortest `max-age` among them (a cache must not keep any policy's keys longer
 * than that policy allows). Built once per policy set, so a reload serves the new keys from the
 * first request after it. A policy route on the same path wins (it runs first).
 */
export function sharedJwks(engine: Engine): Middleware {
  let set: PolicySet | undefined;
  let body = '';
  let cacheControl = '';
  return async function serveSharedJwks(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== SHARED_JWKS_PATH) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('allow', 'GET, HEAD');
      throw new MethodNotAllowedError(`${ctx.method} is not allowed here; use GET`);
    }
    if (set !== engine.served) {
      set = engine.served;
      const published = set.runtimes.flatMap((runtime) => (runtime.publishedKeys === undefined ? [] : [runtime.publishedKeys]));
      body = JSON.stringify({ keys: published.flatMap((p) => p.keys) });
      cacheControl = `public, max-age=${published.length ? Math.min(...published.map((p) => p.maxAgeS)) : 0}`;
    }
    ctx.status = 200;
    ctx.type = 'application/json; charset=utf-8';
    ctx.set('cache-control', cacheControl);
    ctx.body = body;
  };
}
