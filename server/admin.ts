import type { Context, Middleware } from 'koa';
import Router from '@koa/router';
import type { Engine } from '../core/engine.js';
import { AdminUnauthorizedError, RequestInvalidError } from '../core/errors.js';
import { hasReadiness } from '../core/ports.js';
import { lockoutRoutes } from './admin-lockouts.js';
import { bearerMatcher } from './bearer.js';
import { bulkRevocationOf, revokeInBulk } from './bulk-revoke.js';
import type { RequestKind } from './metrics.js';
import type { RequestState } from './require-token.js';

/** What an admin call may do; each admin route asks for one. */
export type AdminAction = 'introspect' | 'revoke' | 'lockouts' | 'metrics';

const noop = async (): Promise<void> => {};

/**
 * The admin routes: `GET /healthz`, `GET /readyz`, RFC 7662 `POST /introspect` and RFC 7009
 * `POST /revoke` (which also revokes every token of a credential or subject: `server/bulk-revoke.ts`). A route that needs the admin secret asks for it through `authorize(action)`,
 * so that what a credential may do is decided in one place.
 */
export function adminRouter(engine: Engine, adminSecret: string | undefined, parseBody: Middleware): Router {
  const router = new Router();
  const isAdmin = bearerMatcher(adminSecret);
  const kind = (name: RequestKind): Middleware => async function markKind(ctx, next) {
    (ctx.state as RequestState).kind = name;
    await next();
  };
  /** Refuses a call whose `Authorization` does not allow `action`, then reads the body. */
  const authorize = (_action: AdminAction): Middleware => async function authorizeAdmin(ctx, next) {
    if (!isAdmin(ctx.get('authorization'))) {
      throw new AdminUnauthorizedError('admin secret missing or wrong');
    }
    await parseBody(ctx, noop);
    await next();
  };
  const tokenOf = (ctx: Context): { token: string; policy: string | undefined } => {
    const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
    const { token, policy } = body;
    if (typeof token !== 'string' || token === '') throw new RequestInvalidError('parameter token is required', { claim: 'token' });
    if (policy !== undefined && typeof policy !== 'string') throw new RequestInvalidError('parameter policy must be text', { claim: 'policy' });
    // Only a policy that exists is named in logs and metrics: the caller's text is not logged.
    if (policy !== undefined && engine.served.has(policy)) (ctx.state as RequestState).subjectPolicy = policy;
    return { token, policy };
  };
  router.get('/healthz', function health(ctx) {
    ctx.body = { status: 'ok', policies: engine.policies.length };
  });
  router.get('/readyz', async function ready(ctx) {
    const store = engine.store;
    const up = hasReadiness(store) ? await store.ready() : true;
    ctx.status = up ? 200 : 503;
    ctx.body = up ? { status: 'ready' } : { status: 'not ready', store: 'unavailable' };
    ctx.set('cache-control', 'no-store');
  });
  router.post('/introspect', kind('introspect'), authorize('introspect'), async function introspect(ctx) {
    const { token, policy } = tokenOf(ctx);
    const found = await engine.introspect(token, policy);
    if (found.active) (ctx.state as RequestState).subjectPolicy = found['policy'] as string;
    ctx.body = found;
    ctx.set('cache-control', 'no-store');
  });
  router.post('/revoke', kind('revoke'), authorize('revoke'), async function revoke(ctx) {
    const bulk = bulkRevocationOf((ctx.request as { body?: Record<string, unknown> }).body ?? {});
    if (bulk !== undefined) {
      ctx.body = await revokeInBulk(engine, bulk);
      (ctx.state as RequestState).subjectPolicy = bulk.policy;
      ctx.set('cache-control', 'no-store');
      return;
    }
    const { token, policy } = tokenOf(ctx);
    await engine.revoke(token, policy);
    ctx.status = 200; // RFC 7009 §2.2: also for tokens that were not valid
    ctx.body = '';
  });
  lockoutRoutes(router, engine, authorize);
  return router;
}
