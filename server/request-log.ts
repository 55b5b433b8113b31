import type { Context, Middleware, Next } from 'koa';
import type { Logger } from '../core/ports.js';
import type { TrustedProxies } from './client-ip.js';
import type { Metrics } from './metrics.js';
import { addressOf, type RequestState } from './require-token.js';

/**
 * One JSON line and one metrics record per token request (issue, verify, introspect, revoke):
 * policy, request kind, path (never the query string: Melissa puts the licence in `L=` and
 * the token in `id=`), method, HTTP status, outcome (`ok` or the error code), latency in ms and
 * the client address. Nothing the caller sent is logged beyond the path it called. Other
 * requests (health, metrics, unknown paths) are neither logged nor counted.
 * It must run outside the error middleware, which leaves the error in `ctx.state.error`.
 */
export function requestLog(logger: Logger, metrics: Metrics, trusted: TrustedProxies): Middleware {
  return async function logTokenRequest(ctx: Context, next: Next): Promise<void> {
    const start = performance.now();
    await next();
    const state = ctx.state as RequestState;
    const kind = state.kind;
    if (kind === undefined) return;
    const ms = performance.now() - start;
    const error = state.error;
    const outcome = error === undefined ? 'ok' : error.code;
    const policy = state.policyId ?? state.subjectPolicy;
    metrics.request(kind, policy ?? '', outcome, ms / 1000);
    const line = {
      kind,
      policy,
      path: ctx.path,
      method: ctx.method,
      status: ctx.status,
      outcome,
      ms: Math.round(ms * 1000) / 1000,
      client: addressOf(ctx, trusted),
      reason: error?.reason, // undefined fields are left out of the JSON line
    };
    if (error !== undefined && error.status >= 500) logger.error(line, 'token request');
    else logger.info(line, 'token request');
  };
}
