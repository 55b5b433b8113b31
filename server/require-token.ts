import type { Context, Middleware, Next } from 'koa';
import type { Engine, PolicySet } from '../core/engine.js';
import type { PolicyRuntime } from '../core/runtime.js';
import type { TokenRecord } from '../core/ports.js';
import { TrustedProxies, clientAddress } from './client-ip.js';
import type { RouteState } from './error-middleware.js';
import { tokenRequestOf } from './params.js';

/** `ctx.state` after `requireToken` let a request through. */
export interface TokenState extends RouteState {
  clientAddress?: string;
  /** The verified token's record. */
  token?: TokenRecord;
}

/** The caller's address for this context, computed once per request. */
export function addressOf(ctx: Context, trusted: TrustedProxies): string {
  const state = ctx.state as TokenState;
  state.clientAddress ??= clientAddress(ctx.req.socket.remoteAddress ?? '', ctx.get('x-forwarded-for') || undefined, trusted);
  return state.clientAddress;
}

const NO_PROXIES = new TrustedProxies([]);

/**
 * Protects a host's own route with a policy's tokens: the token is taken where the policy's
 * style says callers put it (a Bearer header, Melissa's `id`, Electa's `Token`), verified with
 * every guard, and its record left in `ctx.state.token`. A refusal is thrown, so the host's
 * error middleware (or tokensmith's) renders it in the policy's reply format.
 *
 * @example
 * ```ts
 * router.get('/orders', requireToken(engine, 'emalidate'), (ctx) => { ctx.body = ctx.state.token.subject; });
 * ```
 */
export interface RequireTokenOptions {
  trustedProxies?: TrustedProxies;
  /** Scopes (packages) the token must carry on this route. */
  scopes?: readonly string[];
  /** The reply format refusals use on this route. */
  format?: string;
  /** The policy set to verify with (default: the one the request pinned, else the one served when it arrived). */
  policySet?: PolicySet;
}

export function requireToken(engine: Engine, policyId: string, options: RequireTokenOptions = {}): Middleware {
  const trusted = options.trustedProxies ?? NO_PROXIES;
  const expect = options.scopes === undefined ? undefined : { scopes: options.scopes };
  const shape = options.format === undefined ? {} : { format: options.format };
  // The policy's runtime, resolved once per policy set (a reload serves a new set).
  let resolved: { set: PolicySet; runtime: PolicyRuntime } | undefined;
  const runtimeIn = (set: PolicySet): PolicyRuntime => {
    if (resolved?.set !== set) resolved = { set, runtime: set.get(policyId) };
    return resolved.runtime;
  };
  return async function checkToken(ctx: Context, next: Next): Promise<void> {
    const state = ctx.state as TokenState;
    const set = options.policySet ?? state.policySet ?? engine.served;
    state.policySet = set;
    state.kind ??= 'verify';
    const runtime = runtimeIn(set);
    state.policyId = policyId;
    const request = tokenRequestOf(ctx, runtime.policy.caseInsensitiveParams, addressOf(ctx, trusted), shape);
    state.tokenRequest = request;
    state.token = await runtime.verify(undefined, request, expect);
    await next();
  };
}
