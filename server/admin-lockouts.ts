import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { auditAdmin } from './audit.js';
import type { Engine } from '../core/engine.js';
import { RequestInvalidError } from '../core/errors.js';
import { DEFAULT_LIST_LIMIT, LockoutAdmin, MAX_LIST_LIMIT, type LockTarget } from '../plugins/guards/lockout/index.js';
import type { AdminAction } from './admin.js';
import type { RequestState } from './require-token.js';

/** The fields of an unlock request, by what they name. */
const TARGETS = ['credential_id', 'address', 'fingerprint'] as const;

/**
 * The lockout administration routes, each behind `authorize('lockouts')`:
 *
 * - `GET /admin/lockouts?policy=ID[&limit=N]`: `{"policy": ID, "locks": [LockView…]}`, the
 *   policy's locks ending soonest first (at most `limit`, default 1,000, at most 10,000).
 * - `POST /admin/lockouts/unlock` with a JSON or form body `{"policy": ID, "credential_id" |
 *   "address" | "fingerprint": …}` (exactly one of the three): `{"policy": ID, "unlocked":
 *   LockView}`, or 404 `ERR_LOCK_NOT_FOUND` when that subject is not locked.
 *
 * A lock of a secret-only credential (a Melissa licence) shows a keyed fingerprint, never the
 * secret's digest; see docs/policies.md, "Lockout administration".
 *
 * @example lockoutRoutes(router, engine, authorize)
 */
export function lockoutRoutes(router: Router, engine: Engine, authorize: (action: AdminAction) => Middleware): void {
  const admin = new LockoutAdmin(engine.store, engine.clock);
  router.get('/admin/lockouts', authorize('lockouts'), async function listLockouts(ctx) {
    const policy = policyOf(ctx, engine, ctx.query['policy']);
    const limit = limitOf(ctx.query['limit']);
    ctx.body = { policy: policy.id, locks: await admin.list(policy, limit) };
    ctx.set('cache-control', 'no-store');
  });
  router.post('/admin/lockouts/unlock', authorize('lockouts'), async function unlockLockout(ctx) {
    const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
    const policy = policyOf(ctx, engine, body['policy']);
    const given = TARGETS.filter((name) => body[name] !== undefined);
    if (given.length !== 1) throw new RequestInvalidError('give exactly one of credential_id, address, fingerprint', { policyId: policy.id, claim: 'credential_id' });
    const name = given[0] as (typeof TARGETS)[number];
    const value = body[name];
    if (typeof value !== 'string' || value === '' || value.length > 1024) throw new RequestInvalidError(`parameter ${name} must be non-empty text`, { policyId: policy.id, claim: name });
    const target: LockTarget = name === 'credential_id' ? { credentialId: value } : name === 'address' ? { address: value } : { fingerprint: value };
    const unlocked = await admin.unlock(policy, target);
    ctx.body = { policy: policy.id, unlocked };
    ctx.set('cache-control', 'no-store');
    const subject = unlocked.kind === 'address' ? 'address' : 'credential';
    auditAdmin(ctx, 'lock.lifted', { policy: policy.id, credentialId: unlocked.credential_id, subject, address: unlocked.address ?? null });
  });
}

/** The served policy a request names (`ERR_POLICY_UNKNOWN` otherwise); named in logs only once it is known to exist. */
function policyOf(ctx: Context, engine: Engine, given: unknown) {
  if (typeof given !== 'string' || given === '') throw new RequestInvalidError('parameter policy is required', { claim: 'policy' });
  const policy = engine.served.get(given).policy;
  (ctx.state as RequestState).subjectPolicy = policy.id;
  return policy;
}

function limitOf(given: unknown): number {
  if (given === undefined) return DEFAULT_LIST_LIMIT;
  const limit = typeof given === 'string' && /^[0-9]{1,6}$/.test(given) ? Number(given) : NaN;
  if (!(limit >= 1 && limit <= MAX_LIST_LIMIT)) throw new RequestInvalidError(`parameter limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`, { claim: 'limit' });
  return limit;
}
