import type { Context, Middleware, Next, ParameterizedContext } from 'koa';
import type { Engine, PolicySet } from '../core/engine.js';
import type { PolicyRuntime } from '../core/runtime.js';
import type { TokenRecord } from '../core/ports.js';
import { TrustedProxies, clientAddress } from './client-ip.js';
import { isTokenSmithError } from '../core/errors.js';
import { renderError, rendersErrors, type RouteState } from './error-middleware.js';
import { tokenRequestOf } from './params.js';

/** What tokensmith keeps in `ctx.state` while it handles a request (the token only once verified). */
export interface RequestState extends RouteState {
  clientAddress?: string;
  token?: TokenRecord;
}

/**
 * `ctx.state` after `requireToken` let a request through: the verified token's record is there.
 * `requireToken` is typed with it, so a handler mounted after it reads `ctx.state.token`
 * without a check under strict TypeScript.
 */
export interface TokenState {
  /** The verified token's record. */
  token: TokenRecord;
  /** The caller's address (after trusted-proxy resolution). */
  clientAddress?: string;
}

/** The caller's address for this context, computed once per request. */
export function addressOf(ctx: Context, trusted: TrustedProxies): string {
  const state = ctx.state as RequestState;
  state.clientAddress ??= clientAddress(ctx.req.socket.remoteAddress ?? '', ctx.get('x-forwarded-for') || undefined, trusted);
  return state.clientAddress;
}

const NO_PROXIES = new TrustedProxies([]);

export interface RequireTokenOptions {
  trustedProxies?: TrustedProxies;
  /** Scopes (packages) the token must carry on this route. */
  scopes?: readonly string[];
  /** The reply format refusals use on this route. */
  format?: string;
  /** The policy set to verify with (default: the one the request pinned, else the one served when it arrived). */
  policySet?: PolicySet;
}

/**
 * Protects a host's own route with a policy's tokens: the token is taken where the policy's
 * style says callers put it (a Bearer header, Melissa's `id`, Electa's `Token`), verified with
 * every guard, and its record left in `ctx.state.token`. A refusal is answered at once in the
 * policy's reply format (JSON `{error, error_description}` for JSON policies) with its status and,
 * for a 401, an RFC 6750 `WWW-Authenticate` challenge — also in a host's own Koa app without
 * tokensmith's error middleware. Where that middleware is mounted, the refusal is thrown to it.
 *
 * @example
 * ```ts
 * router.get('/orders', requireToken(engine, 'emalidate'), (ctx) => { ctx.body = ctx.state.token.subject; });
 * ```
 */
export function requireToken(engine: Engine, policyId: string, options: RequireTokenOptions = {}): Middleware<TokenState> {
  const trusted = options.trustedProxies ?? NO_PROXIES;
  const expect = options.scopes === undefined ? undefined : { scopes: options.scopes };
  const shape = options.format === undefined ? {} : { format: options.format };
  // The policy's runtime, resolved once per policy set (a reload serves a new set).
  let resolved: { set: PolicySet; runtime: PolicyRuntime } | undefined;
  const runtimeIn = (set: PolicySet): PolicyRuntime => {
    if (resolved?.set !== set) resolved = { set, runtime: set.get(policyId) };
    return resolved.runtime;
  };
  return async function checkToken(ctx: ParameterizedContext<TokenState>, next: Next): Promise<void> {
    const state = ctx.state as RequestState;
    const set = options.policySet ?? state.policySet ?? engine.served;
    state.policySet = set;
    state.kind ??= 'verify';
    const runtime = runtimeIn(set);
    state.policyId = policyId;
    try {
      const request = tokenRequestOf(ctx, runtime.policy.caseInsensitiveParams, addressOf(ctx, trusted), shape);
      state.tokenRequest = request;
      state.token = await runtime.verify(undefined, request, expect);
    } catch (err) {
      if (rendersErrors(ctx) || !isTokenSmithError(err)) throw err;
      // A host's own app: Koa's default handler would answer 401 text/plain without a code.
      renderError(ctx, engine, err);
      return;
    }
    await next();
  };
}
