import type { Context, Middleware } from 'koa';
import Router from '@koa/router';
import type { Engine } from '../core/engine.js';
import { AdminForbiddenError, AdminUnauthorizedError, MetricsUnauthorizedError, RequestInvalidError, isTokenSmithError } from '../core/errors.js';
import { hasReadiness } from '../core/ports.js';
import { lockoutRoutes } from './admin-lockouts.js';
import { AdminCredentials, ADMIN_SECRET_NAME, mayDo, type AdminAction } from './admin-credentials.js';
import { auditAdmin, type AdminState, type AuditTrail } from './audit.js';
import { TrustedProxies } from './client-ip.js';
import { bulkRevocationOf, revokeInBulk } from './bulk-revoke.js';
import type { RequestKind } from './metrics.js';
import { addressOf, type RequestState } from './require-token.js';

export type { AdminAction } from './admin-credentials.js';

export interface AdminOptions {
  /** Where admin calls and what the routes did are recorded. Default: nowhere. */
  readonly audit?: AuditTrail;
  /** Peers whose `X-Forwarded-For` is believed, for the caller's address in the audit trail. */
  readonly trustedProxies?: TrustedProxies;
  /** Serves `GET /metrics` with `route`: open to all, or only to credentials allowed `metrics`. Default: no route. */
  readonly metrics?: { readonly route: Middleware; readonly open: boolean };
}

const noop = async (): Promise<void> => {};
const NO_PROXIES = new TrustedProxies([]);

/**
 * The admin routes: `GET /healthz`, `GET /readyz`, RFC 7662 `POST /introspect` and RFC 7009
 * `POST /revoke` (which also revokes every token of a credential or subject: `server/bulk-revoke.ts`). A route that needs an admin credential asks for it through
 * `authorize(action)`, so that what a credential may do is decided in one place: no or a wrong
 * secret is `ERR_ADMIN_UNAUTHORIZED` (401), a credential not allowed the action
 * `ERR_ADMIN_FORBIDDEN` (403). Past it, `ctx.state.actor` names the credential, and
 * `auditAdmin(ctx, event, fields)` records what the route did in the audit trail. A plain
 * string is one credential allowed every action (`TOKENSMITH_ADMIN_SECRET`).
 */
export function adminRouter(engine: Engine, credentials: AdminCredentials | string | undefined, parseBody: Middleware, options: AdminOptions = {}): Router {
  const router = new Router();
  const admins = credentials instanceof AdminCredentials ? credentials : new AdminCredentials(credentials === undefined ? [] : [{ name: ADMIN_SECRET_NAME, secret: credentials, actions: 'all' }]);
  const { audit } = options;
  const trusted = options.trustedProxies ?? NO_PROXIES;
  const kind = (name: RequestKind): Middleware => async function markKind(ctx, next) {
    (ctx.state as RequestState).kind = name;
    await next();
  };
  /** Refuses a call whose `Authorization` does not allow `action`, then reads the body; records the call in the audit trail. */
  const authorize = (action: AdminAction): Middleware => async function authorizeAdmin(ctx, next) {
    const state = ctx.state as RequestState & AdminState;
    const credential = admins.match(ctx.get('authorization'));
    if (audit !== undefined) {
      state.audit = audit;
      addressOf(ctx, trusted);
    }
    let outcome = 'ok';
    try {
      if (credential === undefined) {
        throw action === 'metrics' ? new MetricsUnauthorizedError('metrics secret missing or wrong') : new AdminUnauthorizedError('admin secret missing or wrong');
      }
      state.actor = credential.name;
      if (!mayDo(credential, action)) throw new AdminForbiddenError(`this admin credential may not ${action}`, { claim: action });
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') await parseBody(ctx, noop);
      await next();
    } catch (err) {
      outcome = isTokenSmithError(err) ? err.code : 'ERR_INTERNAL';
      throw err;
    } finally {
      auditAdmin(ctx, 'admin.call', { policy: state.subjectPolicy, action, outcome, tokenId: state.auditTokenId });
    }
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
    if (found.active) Object.assign(ctx.state as RequestState & AdminState, { subjectPolicy: found['policy'] as string, auditTokenId: found['jti'] as string });
    ctx.body = found;
    ctx.set('cache-control', 'no-store');
  });
  router.post('/revoke', kind('revoke'), authorize('revoke'), async function revoke(ctx) {
    const bulk = bulkRevocationOf((ctx.request as { body?: Record<string, unknown> }).body ?? {});
    if (bulk !== undefined) {
      const answer = await revokeInBulk(engine, bulk);
      ctx.body = answer;
      (ctx.state as RequestState).subjectPolicy = bulk.policy;
      const { policy: _policy, credential_id: credentialId, ...done } = answer;
      auditAdmin(ctx, 'tokens.revoked', { policy: bulk.policy, ...(credentialId === undefined ? {} : { credentialId }), ...done });
      ctx.set('cache-control', 'no-store');
      return;
    }
    const { token, policy } = tokenOf(ctx);
    const revoked = await engine.revokeRecord(token, policy);
    if (revoked !== undefined) {
      auditAdmin(ctx, 'token.revoked', { policy: revoked.policyId, credentialId: revoked.record.credentialId, tokenId: revoked.record.tokenId });
    }
    ctx.status = 200; // RFC 7009 §2.2: also for tokens that were not valid
    ctx.body = '';
  });
  lockoutRoutes(router, engine, authorize);
  const { metrics } = options;
  if (metrics !== undefined) router.get('/metrics', ...(metrics.open ? [] : [authorize('metrics')]), metrics.route);
  return router;
}
