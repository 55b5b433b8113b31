import type Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { MethodNotAllowedError } from '../core/errors.js';

/**
 * The methods tokensmith serves on some route (policy routes take GET and POST; the admin and
 * health routes also answer HEAD and OPTIONS). A request with any other method (`TRACE`,
 * `PROPFIND`, `M-SEARCH`, …) gets them as its `Allow` where no route serves its path.
 */
export const SERVED_METHODS: readonly string[] = ['GET', 'HEAD', 'OPTIONS', 'POST'];

/**
 * What no route took, by method: the router's `allowedMethods` (which answers `OPTIONS` and
 * marks 405 and 501 with `Allow`), with its 405 and 501 turned into a client error,
 * `ERR_METHOD_NOT_ALLOWED` (405), rendered by the error middleware like any other:
 * - a served path that does not allow the method: `Allow` lists the path's methods;
 * - a method tokensmith serves nowhere, on a path no route serves: `Allow` lists
 *   `SERVED_METHODS`. (The router answered 501 there, which the error middleware rendered as
 *   a 500 with a stack in the log: a flood of `PROPFIND`s filled the error log.)
 * A known method on a path no route serves stays a 404.
 *
 * @example app.use(admin.routes()); app.use(refuseMethods(admin));
 */
export function refuseMethods(router: Router): Middleware {
  const allowedMethods: Middleware = router.allowedMethods() as Middleware;
  return async function refuseMethod(ctx: Context, next: Next): Promise<void> {
    await allowedMethods(ctx, next);
    if ((ctx.status !== 405 && ctx.status !== 501) || ctx.body != null) return;
    const allow = ctx.response.get('allow') || SERVED_METHODS.join(', ');
    ctx.set('allow', allow);
    throw new MethodNotAllowedError(`${ctx.method} is not allowed here; use ${allow.replaceAll(', ', ' or ')}`);
  };
}
