import type { Context, Middleware, Next } from 'koa';
import { RequestInvalidError } from '../core/errors.js';
import type { ProtectedRoute } from '../core/policy/types.js';
import type { PolicyRuntime } from '../core/runtime.js';
import type { TokenRecord, Verified } from '../core/ports.js';
import { tokenRequestOf } from './params.js';
import type { RequestState } from './require-token.js';

/** Longest value a route repeats: a name or a room id, not a document. */
export const ECHO_MAX = 256;

/** Control characters (line breaks and tabs too: no name or room id has one) and what no XML 1.0 document may hold: refused rather than dropped. */
const UNWRITABLE = /[\p{Cc}\p{Cs}\uFFFE\uFFFF]/u; // with the u flag, \p{Cs} matches only a lone surrogate

/** The body of a protected route without a vendor reply: what the token says, never the token. */
export function demoBody(record: TokenRecord | undefined): Record<string, unknown> {
  return { ok: true, policy: record?.policyId, sub: record?.subject, scope: record?.scopes, exp: record && Math.floor(record.expiresAt / 1000) };
}

/**
 * A protected route that answers in the policy's own format (`echo`): the parameters it
 * repeats are checked before the token is (a request missing a required one is refused
 * without touching the store, and a single-use token is not spent on it), then `guard`
 * verifies the token and the policy's encoder renders the record with those parameters.
 * An encoder that cannot render a verified request leaves the generic JSON body.
 */
export function echoRoute(runtime: PolicyRuntime, route: ProtectedRoute, guard: Middleware): Middleware {
  const { policy } = runtime;
  const names = Object.entries(route.echo ?? {});
  const shape = route.format === undefined ? {} : { format: route.format };
  return async function answerVerified(ctx: Context, next: Next): Promise<void> {
    const params = tokenRequestOf(ctx, policy.caseInsensitiveParams, '', shape);
    (ctx.state as RequestState).tokenRequest = params; // a refusal below is rendered in the format this request chose
    const echo: [string, string][] = [];
    for (const [name, need] of names) {
      const value = params.param(name);
      if (value === undefined || value === '') {
        if (need === 'required') throw new RequestInvalidError(`missing parameter ${name}`, { policyId: policy.id, claim: name });
        echo.push([name, '']);
      } else if (UNWRITABLE.test(value)) {
        throw new RequestInvalidError(`parameter ${name} holds a control character`, { policyId: policy.id, claim: name });
      } else if (value.length > ECHO_MAX) {
        throw new RequestInvalidError(`parameter ${name} is longer than ${ECHO_MAX} characters`, { policyId: policy.id, claim: name });
      } else {
        echo.push([name, value]);
      }
    }
    await guard(ctx, async () => {
      const state = ctx.state as RequestState;
      const verified: Verified = { record: state.token as TokenRecord, echo };
      const reply = runtime.replyVerified(verified, state.tokenRequest ?? params);
      if (reply === undefined) {
        ctx.body = { ...demoBody(state.token), echo: Object.fromEntries(echo) };
        return next();
      }
      ctx.status = reply.status;
      ctx.type = reply.contentType;
      ctx.body = reply.body;
      ctx.set('cache-control', 'no-store');
      if (reply.headers) ctx.set(reply.headers);
    });
  };
}
