import Koa, { type Context, type Middleware, type Next } from 'koa';
import type { Engine, PolicySet } from '../core/engine.js';
import type { PolicyRuntime } from '../core/runtime.js';
import { MethodNotAllowedError, RequestInvalidError } from '../core/errors.js';
import type { HttpMethod, IssueRoute, Policy } from '../core/policy/types.js';
import type { Logger } from '../core/ports.js';
import { adminRouter } from './admin.js';
import { AdminCredentials, ADMIN_SECRET_NAME, METRICS_SECRET_NAME, type AdminCredential } from './admin-credentials.js';
import type { AuditTrail } from './audit.js';
import { bodyReader } from './body.js';
import { TrustedProxies } from './client-ip.js';
import { errorMiddleware, logEscapedErrors } from './error-middleware.js';
import { melissaDemo } from './demo.js';
import { sharedJwks } from './jwks.js';
import { scrubberFor } from './logging.js';
import { refuseMethods } from './methods.js';
import { Metrics, type RequestKind } from './metrics.js';
import { tokenRequestOf } from './params.js';
import { foldPath } from '../core/policy/paths.js';
import { demoBody, echoRoute } from './echo.js';
import { requestLog } from './request-log.js';
import { warnWhenStoreFull } from './store-full-log.js';
import { addressOf, requireToken, type RequestState } from './require-token.js';

export interface AppOptions {
  readonly engine: Engine;
  /** Peers whose `X-Forwarded-For` is believed: addresses and CIDR ranges. Default: none. */
  readonly trustedProxies?: readonly string[];
  /** Secret for `POST /introspect` and `POST /revoke` (`Authorization: Bearer …`): a credential named `admin-secret` allowed every action. */
  readonly adminSecret?: string;
  /**
   * Admin credentials, each with a name and the actions it may do (`--admin-credentials`; see
   * `server/admin-credentials.ts`). With no credential and no `adminSecret`, admin routes refuse every call.
   */
  readonly adminCredentials?: readonly AdminCredential[];
  /** The audit trail that admin calls are recorded in (watch the engine with it too: `audit.watch(engine)`). Default: none. */
  readonly audit?: AuditTrail;
  /** Largest accepted request body (form or JSON). Default `16kb`. */
  readonly bodyLimit?: string;
  /** Where the per-request lines and unexpected errors go (a pino logger in `serve`). Default: nowhere. */
  readonly logger?: Logger;
  /** Serves the Melissa browser demo at `GET /demo/melissa` (see `server/demo.ts`). Default off. */
  readonly demo?: boolean;
  /** The metrics to count into. Default: a new `Metrics` (its own registry) for this app. */
  readonly metrics?: Metrics;
  /**
   * `GET /metrics`: `open` (default; Prometheus convention, for a port that only the scraper
   * reaches), `off` (no route), `admin` (an admin credential allowed `metrics`), or `{ secret }`
   * to also accept `Authorization: Bearer <secret>` (a credential named `metrics-secret` allowed
   * only `metrics`).
   */
  readonly metricsEndpoint?: 'open' | 'off' | 'admin' | { readonly secret: string };
}

const SILENT: Logger = { info() {}, warn() {}, error() {} };

interface PolicyRoute {
  /** The path as the policy writes it; the table is keyed by its folded form. */
  readonly path: string;
  /** Matched in any letter case (the policy's `paths.caseInsensitive`); else only as written. */
  readonly anyCase: boolean;
  readonly set: PolicySet;
  /** `undefined` for an informational route: neither logged nor counted as a token request. */
  readonly kind: RequestKind | undefined;
  readonly policy: Policy;
  readonly methods: readonly HttpMethod[];
  /**
   * The methods answered, which `Allow` names: the route's own, and beside `GET` on an
   * informational route (a JWKS, Melissa's `getversion`) also `HEAD` (RFC 9110 §9.3.2). A token
   * route never answers `HEAD`: it would spend a credential attempt or a token for no reply.
   */
  readonly allow: readonly string[];
  readonly format: string | undefined;
  readonly handle: Middleware;
}

/**
 * Builds the Koa app (it does not listen: `app.listen()` or `http.createServer(app.callback())`
 * is the caller's). One route per policy route, the policies' protected demo routes,
 * `GET /healthz`, `GET /readyz`, `GET /metrics`, RFC 7662 `POST /introspect` and RFC 7009
 * `POST /revoke`. Each token request is logged as one line and counted in the metrics.
 *
 * @example
 * ```ts
 * const app = createApp({ engine, trustedProxies: ['127.0.0.1'], adminSecret: process.env.ADMIN_SECRET });
 * app.listen(8080, '127.0.0.1');
 * ```
 */
export function createApp(options: AppOptions): Koa {
  const { engine } = options;
  const logger = options.logger ?? SILENT;
  const trusted = new TrustedProxies(options.trustedProxies ?? []);
  const limit = options.bodyLimit ?? '16kb';
  const parseBody = bodyReader(limit);
  const app = new Koa({ proxy: false });
  app.silent = true;
  const metrics = options.metrics ?? new Metrics();
  metrics.watch(engine);
  warnWhenStoreFull(engine, logger);
  const endpoint = options.metricsEndpoint ?? 'open';
  const admins = adminCredentialsOf(options);

  const routesFor = policyRouteTable(engine, trusted);
  const admin = adminRouter(engine, admins, parseBody, {
    trustedProxies: trusted,
    ...(options.audit === undefined ? {} : { audit: options.audit }),
    ...(endpoint === 'off' ? {} : { metrics: { route: metricsRoute(metrics), open: endpoint === 'open' } }),
  });

  const scrub = scrubberFor(() => engine.served, admins.secrets);
  logEscapedErrors(app, logger, scrub);
  app.use(requestLog(logger, metrics, trusted));
  app.use(errorMiddleware(engine, logger, scrub));
  if (options.demo) app.use(melissaDemo(engine));
  app.use(async function policyRoutes(ctx: Context, next: Next): Promise<void> {
    const route = routesFor().get(foldPath(ctx.path));
    if (route === undefined || (!route.anyCase && route.path !== ctx.path)) return next();
    const state = ctx.state as RequestState;
    state.policySet = route.set;
    state.kind = route.kind;
    state.policyId = route.policy.id;
    state.routeFormat = route.format;
    if (route.policy.logParams.length) state.logParams = route.policy.logParams;
    if (!route.allow.includes(ctx.method)) {
      ctx.set('allow', route.allow.join(', '));
      throw new MethodNotAllowedError(`${ctx.method} is not allowed here; use ${route.methods.join(' or ')}`, { policyId: route.policy.id });
    }
    // No Content-Length and no Transfer-Encoding means no body (RFC 9112 §6.3): skip the parser.
    if (ctx.method === 'POST' && (ctx.request.length > 0 || ctx.get('transfer-encoding') !== '')) await parseBody(ctx, noop);
    await route.handle(ctx, next);
  });
  app.use(sharedJwks(engine));
  app.use(admin.routes());
  app.use(refuseMethods(admin));
  return app;

  /** Rebuilt only when the engine serves another policy set (reload); each route keeps the set it was built from. */
  function policyRouteTable(eng: Engine, proxies: TrustedProxies): () => ReadonlyMap<string, PolicyRoute> {
    let set: PolicySet | undefined;
    let table = new Map<string, PolicyRoute>();
    return () => {
      if (set !== eng.served) {
        set = eng.served;
        table = buildRoutes(eng, set, proxies);
      }
      return table;
    };
  }
}

const noop = async (): Promise<void> => {};

function buildRoutes(engine: Engine, set: PolicySet, trusted: TrustedProxies): Map<string, PolicyRoute> {
  const table = new Map<string, PolicyRoute>();
  for (const policy of set.policies) {
    const anyCase = policy.caseInsensitivePaths;
    const runtime = set.get(policy.id);
    for (const route of policy.routes) {
      const handle = issueHandler(runtime, route, trusted);
      table.set(foldPath(route.path), { path: route.path, anyCase, set, kind: 'issue', policy, methods: route.methods, allow: route.methods, format: route.format, handle });
    }
    for (const route of policy.protectedRoutes) {
      const guard = requireToken(engine, policy.id, {
        trustedProxies: trusted,
        policySet: set,
        ...(route.scopes ? { scopes: route.scopes } : {}),
        ...(route.format ? { format: route.format } : {}),
      });
      table.set(foldPath(route.path), {
        path: route.path,
        anyCase,
        set,
        kind: 'verify',
        policy,
        methods: route.methods,
        allow: route.methods,
        format: route.format,
        handle: route.echo === undefined ? (ctx, next) => guard(ctx, async () => protectedDemo(ctx, next)) : echoRoute(runtime, route, guard),
      });
    }
  }
  addInfoRoutes(set, table);
  return table;
}

/** The styles' fixed informational routes (Melissa's `getversion`), where no policy route is: not logged as token requests. */
function addInfoRoutes(set: PolicySet, table: Map<string, PolicyRoute>): void {
  for (const { policy, infoRoutes } of set.runtimes) {
    for (const { path, methods, reply, format } of infoRoutes) {
      if (table.has(foldPath(path))) continue;
      const handle: Middleware = async function answerInfo(ctx) {
        ctx.status = reply.status;
        ctx.type = reply.contentType;
        ctx.body = reply.body;
        if (reply.headers) ctx.set(reply.headers);
      };
      const allow = methods.includes('GET') ? [...methods, 'HEAD'] : methods;
      table.set(foldPath(path), { path, anyCase: policy.caseInsensitivePaths, set, kind: undefined, policy, methods, allow, format, handle });
    }
  }
}

/** An issue route: calls its policy's runtime (resolved once, when the route table is built for a policy set). */
function issueHandler(runtime: PolicyRuntime, route: IssueRoute, trusted: TrustedProxies): Middleware {
  const { policy } = runtime;
  const policyId = policy.id;
  const shape = {
    ...(route.format === undefined ? {} : { format: route.format }),
    ...(route.preset === undefined ? {} : { preset: route.preset }),
    ...(route.bindCaller ? { bindCallerAs: policy.ipBinding.param } : {}),
  };
  const required = Object.entries(route.require ?? {});
  return async function issueToken(ctx: Context): Promise<void> {
    const request = tokenRequestOf(ctx, policy.caseInsensitiveParams, addressOf(ctx, trusted), shape);
    (ctx.state as RequestState).tokenRequest = request;
    for (const [name, value] of required) {
      if (request.param(name) !== value) throw new RequestInvalidError(`parameter ${name} must be ${value}`, { policyId, claim: name });
    }
    const issued = await runtime.issue(request);
    const reply = runtime.reply({ ok: true, token: issued.token, record: issued.record }, request);
    ctx.status = reply.status;
    ctx.type = reply.contentType;
    ctx.body = reply.body;
    ctx.set('cache-control', 'no-store');
    if (reply.headers) ctx.set(reply.headers);
  };
}

/** The body of a policy's demo protected route: what the token says, never the token. */
async function protectedDemo(ctx: Context, _next: Next): Promise<void> {
  ctx.body = demoBody((ctx.state as RequestState).token);
}

/** `GET /metrics` in Prometheus text format (the admin router asks for a credential first, unless it is open). */
function metricsRoute(metrics: Metrics): Middleware {
  return async function serveMetrics(ctx) {
    ctx.body = await metrics.text();
    ctx.type = metrics.registry.contentType;
    ctx.set('cache-control', 'no-store');
  };
}

/**
 * Every admin credential the options give: the named ones, `adminSecret` (allowed every action)
 * and the metrics secret (allowed `metrics` only; left out when it is the admin secret itself,
 * which may scrape anyway).
 */
function adminCredentialsOf(options: AppOptions): AdminCredentials {
  const { adminSecret, metricsEndpoint } = options;
  const metricsSecret = typeof metricsEndpoint === 'object' ? metricsEndpoint.secret : undefined;
  return new AdminCredentials([
    ...(options.adminCredentials ?? []),
    ...(adminSecret === undefined || adminSecret === '' ? [] : [{ name: ADMIN_SECRET_NAME, secret: adminSecret, actions: 'all' as const }]),
    ...(metricsSecret === undefined || metricsSecret === adminSecret ? [] : [{ name: METRICS_SECRET_NAME, secret: metricsSecret, actions: ['metrics' as const] }]),
  ]);
}
