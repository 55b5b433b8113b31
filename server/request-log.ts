import type { Context, Middleware, Next } from 'koa';
import { StoreFullError } from '../core/errors.js';
import type { Logger, TokenRequest } from '../core/ports.js';
import type { TrustedProxies } from './client-ip.js';
import type { Metrics } from './metrics.js';
import { addressOf, type RequestState } from './require-token.js';

/** A value the log may show: identifier-shaped (an XWS method such as `Container.ContainerInfo`), never free text. */
const SHOWN = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The values of the parameters a policy names in `log.params` (absent ones left out); a value
 * that is not identifier-shaped is shown as `(not shown)`, so that a caller cannot write free
 * text, a secret pasted in the wrong field, or a forged log line into the log.
 */
function loggedParams(names: readonly string[], request: TokenRequest | undefined): Record<string, string> | undefined {
  if (request === undefined) return undefined;
  let shown: Record<string, string> | undefined;
  for (const name of names) {
    const value = request.param(name);
    if (value !== undefined) (shown ??= {})[name] = SHOWN.test(value) ? value : '(not shown)';
  }
  return shown;
}

/**
 * One JSON line and one metrics record per token request (issue, verify, introspect, revoke):
 * policy, request kind, path (never the query string: Melissa puts the licence in `L=` and
 * the token in `id=`), method, HTTP status, outcome (`ok` or the error code), latency in ms and
 * the client address. Nothing the caller sent is logged beyond the path it called and the
 * identifier-shaped values of the parameters its policy names in `log.params`. Other
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
      params: state.logParams && loggedParams(state.logParams, state.tokenRequest),
    };
    // A full store is expected under load and is reported by its own warning, at most once a minute.
    if (error !== undefined && error.status >= 500 && !(error instanceof StoreFullError)) logger.error(line, 'token request');
    else logger.info(line, 'token request');
  };
}
