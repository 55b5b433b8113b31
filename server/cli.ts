import cluster from 'node:cluster';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { parseDuration } from '../core/duration.js';
import { PolicyInvalidError, formatPolicyIssue, isTokenSmithError, type PolicyIssue } from '../core/errors.js';
import { loadPolicies } from '../core/policy/load.js';
import { buildPolicySchema } from '../core/policy/schema.js';
import { generateKey } from './keys.js';
import { tokenRequestFrom } from '../core/request.js';
import { hasReadiness, type Logger, type Store } from '../core/ports.js';
import type { Policy } from '../core/policy/types.js';
import { createApp } from './app.js';
import { AdminCredentialsError, loadAdminCredentials, type AdminCredential } from './admin-credentials.js';
import { AuditTrail } from './audit.js';
import { MIN_AUDIT_KEY, auditFile, auditKey, auditStream, type AuditSink } from './audit-sink.js';
import { boot, type Booted } from './bootstrap.js';
import { assemble, storeNameOf } from '../core/container.js';
import { builtinModules } from '../plugins/index.js';
import type { MemoryStore } from '../plugins/stores/memory/index.js';
import { loadPluginModule } from '../core/plugin-loader.js';
import { revokeCommand } from './cli-revoke.js';
import { UsageError, commandHelp, commandNamed, globalHelp, parseCommand, type Values } from './cli-spec.js';
import { lockouts } from './cli-lockouts.js';
import { drainable, settling } from './lifecycle.js';
import { createLogger, flushLogger, lineDestination, type LogFormat } from './logging.js';
import { Metrics } from './metrics.js';
import { reloader, watchPolicies } from './reload.js';
import { perWorkerStoreIssues } from './per-worker-store.js';
import { leaveCluster, workerLink } from './worker-link.js';
import { runWorkers, workerCount } from './workers.js';
import { SystemClock } from '../core/clock.js';
import { redactRedisUrl } from '../plugins/stores/redis/options.js';

/** Where the CLI writes; injectable so tests run it in-process. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Where `serve` writes its log lines. Default: stderr, asynchronously (pino's sonic-boom). */
  log?: DestinationStream;
  /** Whether stderr is a terminal: then `serve` logs readable lines unless told otherwise. Default false. */
  stderrIsTTY?: boolean;
  /** How long a command waits at start for a store that can say whether it is reachable (Redis). Default 3 s. */
  storeWaitMs?: number;
}

/**
 * A runtime failure the operator can fix (port taken, folder missing, store unreachable): one
 * line with what happened and what to do, exit 1, no stack.
 */
class CliError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
}

/** The package's version, from its package.json (two levels above `dist/server/`). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The example policies that come with the package, as a path an operator can type from here. */
function examplePolicies(): string {
  const dir = fileURLToPath(new URL('../../policies', import.meta.url));
  const rel = relative(process.cwd(), dir);
  return rel === '' ? '.' : rel.startsWith('..') ? dir : rel;
}

function paramsOf(list: readonly string[] | undefined, command: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const item of list ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError(`--param takes NAME=VALUE, got "${item}"`, command);
    params[item.slice(0, at)] = item.slice(at + 1);
  }
  return params;
}

/**
 * Runs one command; resolves to the exit code (`serve` resolves when the server closes):
 * 0 done, 1 a runtime failure or a refusal, 2 a usage mistake.
 *
 * @example await main(['check', 'policies/'], { out: console.log, err: console.error, env: process.env })
 */
export async function main(argv: readonly string[], io: CliIO, signal?: AbortSignal): Promise<number> {
  const [command, ...rest] = argv;
  const spec = command === undefined ? undefined : commandNamed(command);
  try {
    if (command === '--version' || command === '-V') {
      io.out(version());
      return 0;
    }
    if (command === '--help' || command === '-h') {
      io.out(globalHelp(version()));
      return 0;
    }
    if (command === undefined) {
      io.err(globalHelp(version()));
      return 2;
    }
    if (spec === undefined) throw new UsageError(`unknown command "${command}"`);
    const { values, positionals } = parseCommand(spec, rest, io.env);
    if (values['help']) {
      io.out(commandHelp(spec));
      return 0;
    }
    const strings = (name: string): string[] => (values[name] as string[] | undefined) ?? [];
    const text = (name: string): string | undefined => values[name] as string | undefined;
    switch (spec.name) {
      case 'help': {
        if (positionals.length > 1) throw new UsageError('help takes one command name', 'help');
        const about = positionals[0];
        if (about === undefined) {
          io.out(globalHelp(version()));
          return 0;
        }
        const named = commandNamed(about);
        if (named === undefined) throw new UsageError(`unknown command "${about}"`);
        io.out(commandHelp(named));
        return 0;
      }
      case 'schema':
        if (positionals.length) throw new UsageError(`schema takes no arguments, got "${positionals[0]}"`, 'schema');
        return await schema(strings('plugin'), io);
      case 'keys':
        if (positionals.length !== 1 || positionals[0] !== 'generate') throw new UsageError('keys takes one subcommand: generate', 'keys');
        if (text('alg') === undefined) throw new UsageError('keys generate needs --alg ALG', 'keys');
        io.out(await generateKey({ alg: text('alg') as string, format: text('format') ?? 'jwk', ...(text('kid') === undefined ? {} : { kid: text('kid') as string }) }));
        return 0;
      case 'check':
        return await check(positionals.length ? positionals : ['policies'], strings('plugin'), io);
      case 'serve': {
        if (positionals.length) throw new UsageError(`serve takes no arguments, got "${positionals[0]}" (use --policies DIR)`, 'serve');
        const common = await commonOf(values, io);
        const workers = workerCount(values['workers'] as string | undefined);
        if (workers > 1 && cluster.isPrimary) return await serveWorkers(workers, rest, common, values, io, signal);
        try {
          return await serve(common, values, io, signal);
        } finally {
          leaveCluster();
        }
      }
      case 'lockouts':
        return await lockouts(positionals, values, io, async () => bootChecked(await commonOf(values, io), io));
      case 'revoke':
        return await revokeCommand(values, positionals, io, async () => {
          const booted = await bootChecked(await commonOf(values, io), io);
          return { engine: booted.engine, close: () => booted.store.close() };
        });
      default: {
        const policy = text('policy');
        if (policy === undefined) throw new UsageError(`${spec.name} needs --policy ID`, spec.name);
        if (spec.name === 'verify' && positionals.length !== 1) throw new UsageError('verify needs exactly one TOKEN', 'verify');
        if (spec.name === 'issue' && positionals.length) throw new UsageError(`issue takes no arguments, got "${positionals[0]}" (use --param NAME=VALUE)`, 'issue');
        const params = paramsOf(strings('param'), spec.name);
        return await oneShot(spec.name as 'issue' | 'verify', policy, params, text('ip') ?? '127.0.0.1', positionals[0], await commonOf(values, io), io);
      }
    }
  } catch (err) {
    return report(err, io);
  }
}

/** Prints a failure the way its kind asks for; the exit code. */
function report(err: unknown, io: CliIO): number {
  if (err instanceof UsageError) {
    io.err(`tokensmith: ${err.message}`);
    io.err(err.command === undefined ? 'Run "tokensmith --help" for the commands.' : `Run "tokensmith ${err.command} --help" for its flags.`);
    return 2;
  }
  if (err instanceof CliError) {
    io.err(`tokensmith: ${err.message}; ${err.hint}`);
    return 1;
  }
  if (err instanceof PolicyInvalidError) {
    for (const issue of err.issues) io.err(formatPolicyIssue(issue));
    return 1;
  }
  if (isTokenSmithError(err)) {
    io.err(`${err.code}: ${err.message}`);
    return 1;
  }
  // Not ours: still one line; the stack only when asked for.
  const error = err instanceof Error ? err : new Error(String(err));
  io.err(`tokensmith: unexpected error: ${error.message}${io.env['TOKENSMITH_DEBUG'] ? `\n${error.stack ?? ''}` : '; set TOKENSMITH_DEBUG=1 to see the stack'}`);
  return 1;
}

interface Common {
  readonly policies: readonly string[];
  readonly store: string;
  readonly plugins: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The flags every loading command shares, with their folders checked first so that a mistake reads as one line. */
async function commonOf(values: Values, io: CliIO): Promise<Common> {
  const given = values['policies'] as string[] | undefined;
  const policies = given ?? ['policies'];
  for (const path of policies) {
    try {
      await stat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      if (code === 'ENOENT' && given === undefined) {
        throw new CliError(
          `no ./policies folder in ${process.cwd()}`,
          `pass --policies DIR (or set TOKENSMITH_POLICIES), or try the example policies that come with tokensmith: --policies ${examplePolicies()}`,
        );
      }
      throw new CliError(
        code === 'ENOENT' ? `policy path ${path} does not exist` : `cannot read policy path ${path} (${code})`,
        code === 'ENOENT' ? 'check the --policies value (or TOKENSMITH_POLICIES)' : 'check its permissions',
      );
    }
  }
  return { policies, store: (values['store'] as string | undefined) ?? 'memory', plugins: (values['plugin'] as string[] | undefined) ?? [], env: io.env };
}

/** Boots, then refuses to go on without policies or with a store that cannot be reached. */
async function bootChecked(common: Common, io: CliIO): Promise<Booted> {
  const booted = await boot(common);
  try {
    if (booted.engine.policies.length === 0) {
      throw new CliError(
        `no policy files (*.yaml, *.yml) in ${common.policies.join(', ')}`,
        'write one (see "Getting started" in the README and docs/policies.md) or point --policies at a folder that has some',
      );
    }
    await reachable(booted.store, common.store, io.storeWaitMs ?? 3_000);
    return booted;
  } catch (err) {
    await booted.store.close();
    throw err;
  }
}

/** The store URL without its passwords (user part, `sentinelPassword`), for messages; works on URLs `new URL` cannot parse (a host list). */
function shownStore(url: string): string {
  return redactRedisUrl(url);
}

/** Waits (polling) for a store that can tell whether it is reachable; a clear error if it stays unreachable. */
async function reachable(store: Store, url: string, waitMs: number): Promise<void> {
  if (!hasReadiness(store)) return;
  const until = Date.now() + waitMs;
  for (;;) {
    if (await store.ready()) return;
    if (Date.now() >= until) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CliError(`cannot reach the store at ${shownStore(url)}`, 'start it, or fix --store (or TOKENSMITH_STORE); nothing was served');
}

/** A container with the built-in and outside plugins, for commands that only need names and schemas. */
async function catalogContainer(plugins: readonly string[]) {
  const outside = [];
  for (const path of plugins) outside.push(await loadPluginModule(path));
  return assemble({ modules: [...builtinModules, ...outside] });
}

async function schema(plugins: readonly string[], io: CliIO): Promise<number> {
  const { registry, store } = await catalogContainer(plugins);
  await store.close();
  io.out(JSON.stringify(buildPolicySchema(registry), null, 2));
  return 0;
}

async function check(paths: readonly string[], plugins: readonly string[], io: CliIO): Promise<number> {
  const { registry, store } = await catalogContainer(plugins);
  try {
    const { policies, warnings } = await loadPolicies(paths, { catalog: registry, env: io.env });
    for (const warning of warnings) io.err(`WARNING ${formatPolicyIssue(warning)}`);
    if (policies.length === 0) {
      throw new CliError(`no policy files (*.yaml, *.yml) in ${paths.join(', ')}`, 'name a policy file or a folder that has some');
    }
    io.out(`ok: ${policies.length} ${policies.length === 1 ? 'policy' : 'policies'} (${policies.map((p) => p.id).join(', ')})`);
    return 0;
  } finally {
    await store.close();
  }
}

/** The warnings about one policy's file only: `issue` and `verify` use one policy. */
function warningsFor(booted: Booted, policyId: string): PolicyIssue[] {
  const policy = booted.engine.policies.find((p) => p.id === policyId);
  return policy === undefined ? [] : booted.warnings.filter((w) => resolve(w.file) === policy.source);
}

async function oneShot(
  command: 'issue' | 'verify',
  policyId: string,
  params: Record<string, string>,
  ip: string,
  token: string | undefined,
  common: Common,
  io: CliIO,
): Promise<number> {
  const booted = await bootChecked(common, io);
  try {
    for (const warning of warningsFor(booted, policyId)) io.err(`WARNING ${formatPolicyIssue(warning)}`);
    const { engine } = booted;
    const request = tokenRequestFrom(params, ip, { caseInsensitive: engine.policy(policyId).caseInsensitiveParams });
    if (command === 'issue') {
      try {
        const issued = await engine.issue(policyId, request);
        io.out(engine.reply(policyId, { ok: true, token: issued.token, record: issued.record }, request).body);
        return 0;
      } catch (err) {
        if (!isTokenSmithError(err)) throw err;
        io.out(engine.reply(policyId, { ok: false, error: err }, request).body);
        return 1;
      }
    }
    try {
      const record = await engine.verify(policyId, token, request);
      io.out(JSON.stringify(record, null, 2));
      return 0;
    } catch (err) {
      if (!isTokenSmithError(err)) throw err;
      io.out(err.code);
      io.err(`${err.code}: ${err.message}`);
      return 1;
    }
  } finally {
    await booted.store.close();
  }
}

/** One line per served policy: what an operator needs to see that the right routes are up. */
function announce(logger: Logger, policies: readonly Policy[]): void {
  for (const policy of policies) {
    const routes = policy.routes.map((r) => `${r.methods.join('|')} ${r.path}`);
    const protectedRoutes = policy.protectedRoutes.map((r) => `${r.methods.join('|')} ${r.path}`);
    const parts = [routes.length ? `issues at ${routes.join(', ')}` : 'no issuing route', ...(protectedRoutes.length ? [`protects ${protectedRoutes.join(', ')}`] : [])];
    logger.info({ policy: policy.id, style: policy.style, routes, protectedRoutes }, `policy ${policy.id} (${policy.style}): ${parts.join('; ')}`);
  }
}

/** The environment variable a "demo default" warning names, else the warning's place. */
const DEMO_VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*) is not set/;

/**
 * Dev-only defaults shout, once: one line naming every policy that uses a demo default and the
 * variables to set, instead of a line per default. Other policy warnings (a public route minting
 * long-lived tokens, a literal secret) are a line each.
 */
function shout(logger: Logger, booted: Pick<Booted, 'warnings' | 'engine' | 'store'>, store: string): void {
  const byPolicy = new Map<string, Set<string>>();
  for (const warning of booted.warnings) {
    const demoVariable = DEMO_VARIABLE.exec(warning.message)?.[1];
    if (demoVariable === undefined) {
      logger.warn({ warning: 'policy', at: formatPolicyIssue(warning) }, 'policy warning');
      continue;
    }
    const id = booted.engine.policies.find((p) => p.source === resolve(warning.file))?.id ?? warning.file;
    byPolicy.set(id, (byPolicy.get(id) ?? new Set()).add(demoVariable));
  }
  if (byPolicy.size) {
    const list = [...byPolicy].map(([id, names]) => `${id} (${[...names].join(', ')})`).join('; ');
    logger.warn(
      { warning: 'demo-defaults', policies: Object.fromEntries([...byPolicy].map(([id, names]) => [id, [...names]])) },
      `demo defaults in use, not for production: ${list}; set these variables (tokensmith check lists each place)`,
    );
  }
  if (storeNameOf(store) === 'memory') {
    const bounds = (booted.store as Partial<MemoryStore>).usage;
    logger.warn(
      { warning: 'store', maxEntries: bounds?.maxEntries, maxCounters: bounds?.maxCounters },
      'the embedded memory store keeps sessions and lockouts in this process only; they are lost on restart and not shared between hosts (use --store redis://… in production)',
    );
  }
}

/** Listens, or says in one line why it cannot. */
async function listen(server: Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new CliError(`port ${port} on ${host} is already in use`, 'stop the other server, or choose another port with --port N (or TOKENSMITH_PORT)');
    }
    if (code === 'EACCES') throw new CliError(`no permission to listen on port ${port} on ${host}`, 'ports below 1024 need privileges: use --port 8080');
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new CliError(`cannot listen on ${host}: no such local address`, 'use --host 127.0.0.1, 0.0.0.0 or an address of this machine');
    }
    throw new CliError(`cannot listen on ${host}:${port} (${code ?? (err as Error).message})`, 'check --host and --port');
  }
}

const DEFAULT_GRACE = '10s';
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
/** How long a shutdown waits, after cutting, for the handlers of cut requests (a Redis call times out in 500 ms). */
const SETTLE_MS = 2_000;

/**
 * Serves until SIGTERM/SIGINT (or `signal` aborts): then stops accepting, lets requests in
 * flight finish within the grace period, closes the store and resolves to the exit code: 0 when
 * every request finished, 1 when the grace period ran out and connections were cut (or the store
 * failed to close). SIGHUP — and with `--watch` a change in the policy files — reloads the policies.
 */
async function serve(common: Common, values: Values, io: CliIO, signal?: AbortSignal): Promise<number> {
  const host = (values['host'] as string | undefined) ?? '127.0.0.1';
  const portText = (values['port'] as string | undefined) ?? io.env['PORT'] ?? '8080';
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`--port must be 0–65535, got "${portText}"`, 'serve');
  const grace = (values['grace'] as string | undefined) ?? DEFAULT_GRACE;
  const graceMs = parseDuration(grace);
  if (graceMs === undefined) throw new UsageError(`--grace takes a duration such as 10s or 500ms, got "${grace}"`, 'serve');
  const { format, level } = logSettings(values, io);
  const proxies = ((values['trust-proxy'] as string | undefined) ?? '').split(',').filter((s) => s.trim() !== '');
  const auditTarget = values['audit'] as string | undefined;
  const auditKeyText = io.env['TOKENSMITH_AUDIT_KEY'];
  if (auditKeyText && auditKeyText.length < MIN_AUDIT_KEY) throw new UsageError(`TOKENSMITH_AUDIT_KEY must be at least ${MIN_AUDIT_KEY} characters`, 'serve');
  const adminCredentials = adminCredentialsFrom(values['admin-credentials'] as string | undefined, io.env);
  // Listening to the primary before the (slow) boot, so that a stop sent meanwhile waits for serve to take it.
  const link = workerLink();
  const booted = await bootChecked(common, io);
  const perWorker = link !== undefined && storeNameOf(common.store) === 'memory';
  if (perWorker) await refuseSharedState(booted, io, adminCredentials !== undefined);
  // Audit lines to stderr share the log's buffer, so that the two never cut into each other.
  const logDestination = io.log ?? (auditTarget === 'stderr' ? lineDestination(2, link !== undefined) : undefined);
  const logger = createLogger({
    ...(logDestination ? { destination: logDestination } : {}), level, format, colorize: io.stderrIsTTY === true && !io.log, shared: link !== undefined,
  });
  const adminSecret = io.env['TOKENSMITH_ADMIN_SECRET'];
  const metricsSecret = io.env['TOKENSMITH_METRICS_SECRET'];
  const metricsMode = io.env['TOKENSMITH_METRICS'];
  const metricsEndpoint = metricsMode === 'off' ? 'off' : metricsSecret ? { secret: metricsSecret } : metricsMode === 'admin' ? 'admin' : 'open';
  const metrics = new Metrics({ processMetrics: true, ...(link ? { gather: () => link.clusterMetrics() } : {}) });
  link?.shareMetrics(metrics.registry);
  let audit: AuditTrail | undefined;
  let app: ReturnType<typeof createApp>;
  try {
    if (auditTarget !== undefined) {
      const sink = await openAuditSink(auditTarget, logDestination, logger);
      audit = new AuditTrail({ sink, key: auditKey(io.env, logger), clock: booted.engine.clock });
      audit.watch(booted.engine);
    }
    app = createApp({
      engine: booted.engine, trustedProxies: proxies, logger, metrics, metricsEndpoint, demo: values['demo'] === true, ...(adminSecret ? { adminSecret } : {}),
      ...(adminCredentials ? { adminCredentials } : {}), ...(audit ? { audit } : {}),
    });
  } catch (err) {
    await audit?.close();
    await booted.store.close();
    if (err instanceof AdminCredentialsError) throw new CliError(err.message, 'each admin credential needs its own name and its own secret');
    throw err;
  }
  const requests = settling(app.callback());
  const server: Server = createServer(requests.handler);
  const lifecycle = drainable(server);
  try {
    await listen(server, port, host);
  } catch (err) {
    await audit?.close();
    await booted.store.close();
    throw err;
  }
  // Said once the port is ours: a server that cannot listen says one line, not its whole start-up.
  // Of several workers, the first says it for all.
  if (link === undefined || link.first) {
    announce(logger, booted.engine.policies);
    shout(logger, booted, common.store);
    if (!adminSecret && !adminCredentials) logger.warn({ warning: 'admin' }, 'TOKENSMITH_ADMIN_SECRET is not set and no --admin-credentials given: the admin routes (/introspect, /revoke, /admin/lockouts) refuse every call');
    if (adminCredentials) logger.info({ admin: adminCredentials.map((c) => ({ name: c.name, actions: c.actions })) }, 'admin credentials loaded');
  }
  audit?.record('audit.started', { policies: booted.engine.policies.map((p) => p.id), key: auditKeyText ? 'TOKENSMITH_AUDIT_KEY' : 'per-process' });
  const address = server.address();
  const shown = typeof address === 'object' && address ? `http://${host.includes(':') ? `[${host}]` : host}:${address.port}` : String(address);

  const { reload } = reloader(booted, {
    policies: common.policies, env: io.env, logger, metrics, worker: { plugins: common.plugins ?? [] }, ...(audit ? { audit } : {}),
    ...(perWorker ? { check: (policies: readonly Policy[]) => perWorkerStoreIssues(policies, booted.registry, guardDeps(booted)) } : {}),
  });
  link?.onReload((reason) => {
    audit?.reopen();
    return reload(reason);
  });
  const onHangup = () => {
    audit?.reopen();
    void reload('SIGHUP');
  };
  process.on('SIGHUP', onHangup);
  const watcher = values['watch']
    ? await watchPolicies(common.policies, () => void reload('watch'), {
        onError: (err) => logger.error({ error: { type: err.name, message: err.message } }, 'policy watch failed; SIGHUP still reloads'),
      })
    : undefined;
  logger.info(
    { listen: shown, graceMs, watch: values['watch'] ?? false, policies: booted.engine.policies.map((p) => p.id) },
    'tokensmith listening',
  );
  if (link) link.listening(shown);
  else io.out(`tokensmith listening on ${shown}`);

  // The first stop signal drains; a second one cuts what is still running.
  let stop: (by: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  let stopping = false;
  let forced = false;
  const onStop = (by: string) => {
    if (!stopping) {
      stopping = true;
      stop(by);
      return;
    }
    logger.warn({ signal: by, inFlight: lifecycle.inFlight }, 'second stop signal: cutting the requests still running');
    forced = true;
    lifecycle.force();
  };
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((name) => [name, () => onStop(name)] as const);
  for (const [name, handler] of handlers) process.on(name, handler);
  signal?.addEventListener('abort', () => onStop('abort'), { once: true });
  // The primary's stop may come with the same signal sent to the whole process group: it starts a drain, never a second stop.
  link?.onStop(
    (by) => {
      if (!stopping) onStop(by);
    },
    (by) => {
      if (!stopping) onStop(by);
      onStop(by);
    },
  );

  const stoppedBy = await stopped;
  const inFlight = lifecycle.inFlight;
  const drained = lifecycle.drain(graceMs);
  // Said once the listener is closed: whoever reads this line finds the port refusing connections.
  logger.info({ signal: stoppedBy, inFlight, graceMs }, 'shutting down: not accepting; finishing the requests in flight');
  const { cut } = await drained;
  if (cut > 0) logger.warn({ cut, graceMs }, 'grace period over: connections with requests still running were cut');
  // Handlers of cut connections run on until their body read or store call fails: their lines come
  // before "stopped", and the store closes after them. A second signal does not wait.
  const unsettled = forced ? requests.running : await requests.settled(SETTLE_MS);
  process.off('SIGHUP', onHangup);
  watcher?.close();
  for (const [name, handler] of handlers) process.off(name, handler);
  let storeClosed = true;
  try {
    await booted.store.close();
  } catch (err) {
    storeClosed = false;
    logger.error({ error: { type: (err as Error).name, message: (err as Error).message } }, 'the store did not close cleanly');
  }
  if (unsettled > 0) logger.warn({ unsettled, waitedMs: SETTLE_MS }, 'handlers of cut requests still running; they may log after this');
  // Every request has finished or been cut: the audit trail has its last line.
  await audit?.close();
  logger.info({ cut, store: storeClosed ? 'closed' : 'failed', exitCode: cut > 0 || !storeClosed ? 1 : 0 }, 'tokensmith stopped');
  await flushLogger(logger);
  link?.close();
  return cut > 0 || !storeClosed ? 1 : 0;
}

/** The admin credentials file (`--admin-credentials`), read before anything starts; `undefined` when none is given. */
function adminCredentialsFrom(path: string | undefined, env: Readonly<Record<string, string | undefined>>): AdminCredential[] | undefined {
  if (path === undefined) return undefined;
  try {
    return loadAdminCredentials(path, env);
  } catch (err) {
    if (err instanceof AdminCredentialsError) throw new CliError(err.message, 'fix --admin-credentials (or TOKENSMITH_ADMIN_CREDENTIALS); see docs/audit.md');
    throw err;
  }
}

/** `--audit stderr` (through the log's destination when there is one) or `--audit PATH` (a file opened now, or one line saying why not). */
async function openAuditSink(target: string, logDestination: DestinationStream | undefined, logger: Logger): Promise<AuditSink> {
  if (target === 'stderr') return auditStream(logDestination ?? lineDestination(2));
  try {
    return await auditFile(target, logger);
  } catch (err) {
    throw new CliError(`cannot open the audit file ${target} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'check --audit (or TOKENSMITH_AUDIT) and the folder\'s permissions');
  }
}

/** The log format and level `serve` was asked for (its workers' primary logs the same way). */
function logSettings(values: Values, io: CliIO): { format: LogFormat; level: string } {
  const format = (values['log-format'] as string | undefined) ?? (io.stderrIsTTY ? 'pretty' : 'json');
  if (format !== 'json' && format !== 'pretty') throw new UsageError(`--log-format takes json or pretty, got "${format}"`, 'serve');
  const level = (values['log-level'] as string | undefined) ?? 'info';
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level takes one of ${LEVELS.join(', ')}, got "${level}"`, 'serve');
  return { format, level };
}

/**
 * `serve --workers N` (N > 1) in the primary process: refuses a store each worker would keep
 * apart unless asked for (the workers refuse it again for policies that keep state), then runs
 * the workers (server/workers.ts).
 */
async function serveWorkers(workers: number, args: readonly string[], common: Common, values: Values, io: CliIO, signal?: AbortSignal): Promise<number> {
  if (storeNameOf(common.store) === 'memory' && values['memory-per-worker'] !== true) {
    throw new UsageError(
      `the memory store keeps sessions and lockout counts inside one process: with --workers ${workers} each worker would have its own, ` +
        'and a token issued by one worker would be unknown to the next; use --store redis://HOST:PORT/DB, or --memory-per-worker if every policy keeps no state',
      'serve',
    );
  }
  const { format, level } = logSettings(values, io);
  const logger = createLogger({ ...(io.log ? { destination: io.log } : {}), level, format, colorize: io.stderrIsTTY === true && !io.log, shared: true });
  return runWorkers({ workers, args, env: io.env, logger, out: io.out, ...(signal ? { signal } : {}) });
}

/** What a guard is made with when only asked whether a policy uses it. */
function guardDeps(booted: Booted) {
  return { store: booted.store, clock: new SystemClock(), lockoutStarted: () => {} };
}

/**
 * A worker with a memory store of its own serves only what needs no shared state: refuses
 * policies that keep some (server/per-worker-store.ts) and revocation, whose deny list each
 * worker would keep apart.
 */
async function refuseSharedState(booted: Booted, io: CliIO, adminCredentials: boolean): Promise<void> {
  const hint = 'use --store redis://HOST:PORT/DB so that the workers share one store';
  const issues = perWorkerStoreIssues(booted.engine.policies, booted.registry, guardDeps(booted));
  const problem =
    issues.length > 0
      ? `--memory-per-worker serves only policies that keep no state; ${issues.map((issue) => issue.message).join('; ')}`
      : io.env['TOKENSMITH_ADMIN_SECRET'] || adminCredentials
        ? '--memory-per-worker: an admin credential (TOKENSMITH_ADMIN_SECRET or --admin-credentials) enables POST /revoke, whose deny list each worker would keep apart (a token revoked through one worker would stay valid on the others)'
        : undefined;
  if (problem === undefined) return;
  await booted.store.close();
  throw new CliError(problem, hint);
}
