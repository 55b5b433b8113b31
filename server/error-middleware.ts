import type Koa from 'koa';
import type { Context, Middleware, Next } from 'koa';
import {
  BodyInvalidError, BodyTooLargeError, InternalError, MethodNotAllowedError, NotFoundError, isTokenSmithError, type TokenSmithError,
} from '../core/errors.js';
import type { Engine, PolicySet } from '../core/engine.js';
import type { Logger, Reply, TokenRequest } from '../core/ports.js';
import { bearerChallenge, jsonErrorReply } from '../core/reply.js';
import { errorField, scrubberFor, type Scrubber } from './logging.js';
import type { RequestKind } from './metrics.js';
import { tokenRequestOf } from './params.js';

/** What a route leaves in `ctx.state` so that errors are rendered in its policy's format. */
export interface RouteState {
  policyId?: string;
  /** The reply format the route imposes, for errors raised before its request was built. */
  routeFormat?: string | undefined;
  tokenRequest?: TokenRequest;
  /** The policy set pinned for this request (a reload does not change it under the request). */
  policySet?: PolicySet;
  /** Set by token routes: the request is logged and counted as this kind. */
  kind?: RequestKind;
  /** An admin request's policy, when it names one that exists (logs and metrics only). */
  subjectPolicy?: string;
  /** The error the request ended with, left by the error middleware for the request log. */
  error?: TokenSmithError;
  /** The policy's `log.params`: parameters whose values the request log line shows. */
  logParams?: readonly string[];
}

/** Errors from libraries (body parser, Koa's `ctx.throw`) as domain errors. */
function asDomainError(err: unknown): TokenSmithError {
  if (isTokenSmithError(err)) return err;
  const status = (err as { status?: unknown }).status;
  if (status === 413) return new BodyTooLargeError('request body too large');
  if (status === 404) return new NotFoundError('not found');
  // A router's 501 is a method it implements nowhere: the caller's mistake, not ours.
  if (status === 405 || status === 501) return new MethodNotAllowedError('method not allowed');
  if (status === 400 || status === 415) return new BodyInvalidError('request body could not be read');
  return new InternalError('internal error', { cause: err });
}

/** For errors raised before the route built its request (e.g. a body too large): the query alone chooses the format. */
function queryRequest(ctx: Context, engine: Engine, state: RouteState & { policyId: string }): TokenRequest | undefined {
  const format = state.routeFormat;
  try {
    return tokenRequestOf(ctx, engine.policy(state.policyId, state.policySet).caseInsensitiveParams, '', { body: false, ...(format ? { format } : {}) });
  } catch {
    // The query itself is bad (a name given twice): the route's format still applies.
    return format === undefined ? undefined : { param: () => undefined, clientAddress: '', format };
  }
}

/** Sends an error's reply: the headers the error carries, then the encoder's own (which win on a clash). */
function send(ctx: Context, reply: Reply, error: TokenSmithError): void {
  ctx.status = reply.status;
  ctx.type = reply.contentType;
  ctx.body = reply.body;
  if (error.headers) ctx.set(error.headers);
  if (reply.headers) ctx.set(reply.headers);
}

/** Marks a request whose errors tokensmith's error middleware renders (see {@link requireToken}). */
const RENDERS = Symbol('tokensmith/renders-errors');
const SILENT: Logger = { info() {}, warn() {}, error() {} };

/** Whether tokensmith's error middleware is upstream of this request. */
export function rendersErrors(ctx: Context): boolean {
  return (ctx.state as Record<symbol, unknown>)[RENDERS] === true;
}

/**
 * Koa middleware, the one place errors become HTTP replies: in the policy's vendor format when
 * the failing route belongs to a policy, else JSON `{error, error_description}`. Stack traces and
 * unexposed messages never reach the client; unexpected errors are logged with their stack,
 * scrubbed of secrets (`scrub`: by default the served policies' secrets and the request's values).
 * Mount it first in a host's own Koa app to render tokensmith's errors (and any other error, as
 * `ERR_INTERNAL`) the same way.
 *
 * @example
 * ```ts
 * const app = new Koa();
 * app.use(errorMiddleware(engine, logger));
 * app.use(router.routes());
 * ```
 */
export function errorMiddleware(engine: Engine, logger: Logger = SILENT, scrub: Scrubber = scrubberFor(() => engine.served)): Middleware {
  return async function renderErrors(ctx: Context, next: Next): Promise<void> {
    (ctx.state as Record<symbol, unknown>)[RENDERS] = true;
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new NotFoundError(`no route for ${ctx.method} ${ctx.path.slice(0, 200)}`);
    } catch (err) {
      renderError(ctx, engine, err, logger, scrub);
    }
  };
}

/** Renders one error as the reply of `ctx` (see {@link errorMiddleware}). */
export function renderError(ctx: Context, engine: Engine, err: unknown, logger: Logger = SILENT, scrub: Scrubber = scrubberFor(() => engine.served)): void {
  const error = asDomainError(err);
  const state = ctx.state as RouteState;
  state.error = error;
  if (error.code === 'ERR_INTERNAL') {
    logger.error({ error: errorField(err, scrub, ctx), policy: state.policyId, path: ctx.path, method: ctx.method }, 'unexpected error');
  }
  if (state.policyId !== undefined) {
    try {
      const request = state.tokenRequest ?? queryRequest(ctx, engine, { ...state, policyId: state.policyId });
      send(ctx, engine.reply(state.policyId, { ok: false, error }, request, state.policySet), error);
      if (state.kind === 'verify' && !ctx.response.get('www-authenticate')) {
        const challenge = bearerChallenge(state.policyId, ctx.status, error);
        if (challenge !== undefined) ctx.set('www-authenticate', challenge);
      }
      return;
    } catch (encodeError) {
      logger.error({ error: errorField(encodeError, scrub, ctx), policy: state.policyId, path: ctx.path }, 'reply encoder failed');
    }
  }
  send(ctx, jsonErrorReply(error), error);
}

/**
 * Errors thrown outside the error middleware (by the request log, which runs around it) reach
 * Koa's own handler, which answers a plain-text 500 and, with `app.silent`, tells no one: an
 * IPv6 zone id once failed every policy route that way, with no log line. They are logged here,
 * scrubbed like any unexpected error; client errors Koa answers itself (`expose`) are not.
 *
 * @example const app = new Koa(); app.silent = true; logEscapedErrors(app, logger, scrub);
 */
export function logEscapedErrors(app: Koa, logger: Logger, scrub: Scrubber): void {
  app.on('error', (err: unknown, ctx?: Context) => {
    if ((err as { expose?: unknown } | null)?.expose === true) return;
    logger.error({ error: errorField(err, scrub, ctx), path: ctx?.path, method: ctx?.method }, 'unexpected error outside the error middleware');
  });
}
