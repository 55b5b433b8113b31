import type { Context, Middleware, Next } from 'koa';
import type { Engine, PolicySet } from '../core/engine.js';
import { TokenSmithError } from '../core/errors.js';
import type { TokenRecord, TokenRequest } from '../core/ports.js';
import { bearerChallenge } from '../core/reply.js';
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
 * Whether a refusal is of a token the caller sent as `Authorization: Bearer`, and so gets an
 * RFC 6750 challenge. A token still missing though a bearer was sent means the policy's style
 * takes its token elsewhere (Melissa's `id`): that refusal is not about the bearer.
 */
function refusedBearer(err: unknown, request: TokenRequest): err is TokenSmithError {
  return err instanceof TokenSmithError && request.bearer !== undefined && err.code !== 'ERR_TOKEN_MISSING';
}

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
  return async function checkToken(ctx: Context, next: Next): Promise<void> {
    const state = ctx.state as TokenState;
    const set = options.policySet ?? state.policySet ?? engine.served;
    state.policySet = set;
    state.kind ??= 'verify';
    const policy = engine.policy(policyId, set);
    state.policyId = policyId;
    const request = tokenRequestOf(ctx, policy.caseInsensitiveParams, addressOf(ctx, trusted), shape);
    state.tokenRequest = request;
    try {
      state.token = await engine.verify(policyId, undefined, request, expect, set);
    } catch (err) {
      throw refusedBearer(err, request) ? bearerChallenge(err, policyId) : err;
    }
    await next();
  };
}
