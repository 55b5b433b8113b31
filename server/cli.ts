import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import type { DestinationStream } from 'pino';
import { parseDuration } from '../core/duration.js';
import { PolicyInvalidError, TokenSmithError, formatPolicyIssue } from '../core/errors.js';
import { loadPolicies } from '../core/policy/load.js';
import { buildPolicySchema } from '../core/policy/schema.js';
import { tokenRequestFrom } from '../core/request.js';
import type { Logger } from '../core/ports.js';
import { createApp } from './app.js';
import { boot, type Booted } from './bootstrap.js';
import { assemble } from '../core/container.js';
import { builtinModules } from '../plugins/index.js';
import { loadPluginModule } from '../core/plugin-loader.js';
import { drainable, settling } from './lifecycle.js';
import { createLogger, flushLogger } from './logging.js';
import { Metrics } from './metrics.js';
import { reloader, watchPolicies } from './reload.js';

/** Where the CLI writes; injectable so tests run it in-process. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Where `serve` writes its JSON log lines. Default: stderr, asynchronously (pino's sonic-boom). */
  log?: DestinationStream;
}

const USAGE = `usage:
  tokensmith serve  [--policies DIR] [--host H] [--port N] [--store memory|URL] [--plugin PATH]… [--trust-proxy ADDR[,CIDR…]]
                    [--watch] [--grace DURATION] [--demo]
  tokensmith check  FILE|DIR…  [--plugin PATH]…
  tokensmith schema [--plugin PATH]…   (prints the policy JSON Schema with every style's block, for editors)
  tokensmith issue  --policy ID [--param NAME=VALUE]… [--ip ADDR] [--policies DIR] [--store URL] [--plugin PATH]…
  tokensmith verify --policy ID [--param NAME=VALUE]… [--ip ADDR] [--policies DIR] [--store URL] [--plugin PATH]… TOKEN

environment: TOKENSMITH_STORE (default memory), TOKENSMITH_ADMIN_SECRET (enables /introspect and /revoke),
             TOKENSMITH_TRUSTED_PROXIES (comma-separated addresses/CIDRs), TOKENSMITH_METRICS_SECRET (/metrics
             then needs Authorization: Bearer), TOKENSMITH_METRICS=off (no /metrics), TOKENSMITH_LOG_LEVEL (default info),
             TOKENSMITH_MAX_POLICY_BYTES (largest policy file, default 1048576 = 1 MiB)
signals (serve): SIGHUP reloads the policies; SIGTERM/SIGINT stop gracefully (a second one stops at once)`;

const OPTIONS = {
  policies: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  store: { type: 'string' },
  plugin: { type: 'string', multiple: true },
  'trust-proxy': { type: 'string' },
  demo: { type: 'boolean' },
  policy: { type: 'string' },
  param: { type: 'string', multiple: true },
  ip: { type: 'string' },
  watch: { type: 'boolean' },
  grace: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

function paramsOf(list: readonly string[] | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const item of list ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError(`--param takes NAME=VALUE, got "${item}"`);
    params[item.slice(0, at)] = item.slice(at + 1);
  }
  return params;
}

/** Dev-only defaults shout: as warning lines of the server's log. */
function shout(logger: Logger, booted: Pick<Booted, 'warnings'>, store: string): void {
  for (const warning of booted.warnings) logger.warn({ warning: 'policy', at: formatPolicyIssue(warning) }, 'demo default in use');
  if (store === 'memory') {
    logger.warn(
      { warning: 'store' },
      'the embedded memory store keeps sessions and lockouts in this process only; they are lost on restart and not shared between hosts (use --store redis://… in production)',
    );
  }
}

/**
 * Runs one command; resolves to the exit code (`serve` resolves when the server closes).
 *
 * @example await main(['check', 'policies/'], { out: console.log, err: console.error, env: process.env })
 */
export async function main(argv: readonly string[], io: CliIO, signal?: AbortSignal): Promise<number> {
  try {
    const [command, ...rest] = argv;
    const { values, positionals } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
    if (values.help || command === undefined || command === 'help') {
      io.out(USAGE);
      return command === undefined ? 2 : 0;
    }
    const store = values.store ?? io.env['TOKENSMITH_STORE'] ?? 'memory';
    const common = { policies: [values.policies ?? 'policies'], store, plugins: values.plugin ?? [], env: io.env };
    switch (command) {
      case 'schema':
        return await schema(values.plugin ?? [], io);
      case 'check':
        return await check(positionals.length ? positionals : ['policies'], values.plugin ?? [], io);
      case 'serve':
        return await serve(common, values, io, signal);
      case 'issue':
      case 'verify': {
        if (values.policy === undefined) throw new UsageError(`${command} needs --policy ID`);
        if (command === 'verify' && positionals.length !== 1) throw new UsageError('verify needs exactly one TOKEN');
        return await once_(command, values.policy, paramsOf(values.param), values.ip ?? '127.0.0.1', positionals[0], common, io);
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`tokensmith: ${(err as Error).message}\n${USAGE}`);
      return 2;
    }
    if (err instanceof PolicyInvalidError) {
      for (const issue of err.issues) io.err(formatPolicyIssue(issue));
      return 1;
    }
    if (err instanceof TokenSmithError) {
      io.err(`${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  }
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
  io.out(JSON.stringify(buildPolicySchema(registry.styles), null, 2));
  return 0;
}

async function check(paths: readonly string[], plugins: readonly string[], io: CliIO): Promise<number> {
  const { registry, store } = await catalogContainer(plugins);
  try {
    const { policies, warnings } = await loadPolicies(paths, { catalog: registry, env: io.env });
    for (const warning of warnings) io.err(`WARNING ${formatPolicyIssue(warning)}`);
    io.out(`ok: ${policies.length} ${policies.length === 1 ? 'policy' : 'policies'} (${policies.map((p) => p.id).join(', ')})`);
    return 0;
  } finally {
    await store.close();
  }
}

async function once_(
  command: 'issue' | 'verify',
  policyId: string,
  params: Record<string, string>,
  ip: string,
  token: string | undefined,
  common: Parameters<typeof boot>[0],
  io: CliIO,
): Promise<number> {
  const booted = await boot(common);
  try {
    for (const warning of booted.warnings) io.err(`WARNING ${formatPolicyIssue(warning)}`);
    const { engine } = booted;
    const request = tokenRequestFrom(params, ip, { caseInsensitive: engine.policy(policyId).caseInsensitiveParams });
    if (command === 'issue') {
      try {
        const issued = await engine.issue(policyId, request);
        io.out(engine.reply(policyId, { ok: true, token: issued.token, record: issued.record }, request).body);
        return 0;
      } catch (err) {
        if (!(err instanceof TokenSmithError)) throw err;
        io.out(engine.reply(policyId, { ok: false, error: err }, request).body);
        return 1;
      }
    }
    try {
      const record = await engine.verify(policyId, token, request);
      io.out(JSON.stringify(record, null, 2));
      return 0;
    } catch (err) {
      if (!(err instanceof TokenSmithError)) throw err;
      io.out(err.code);
      io.err(`${err.code}: ${err.message}`);
      return 1;
    }
  } finally {
    await booted.store.close();
  }
}

const DEFAULT_GRACE = '10s';
/** How long a shutdown waits, after cutting, for the handlers of cut requests (a Redis call times out in 500 ms). */
const SETTLE_MS = 2_000;

/**
 * Serves until SIGTERM/SIGINT (or `signal` aborts): then stops accepting, lets requests in
 * flight finish within the grace period, closes the store and resolves to the exit code: 0 when
 * every request finished, 1 when the grace period ran out and connections were cut (or the store
 * failed to close). SIGHUP — and with `--watch` a change in the policy files — reloads the policies.
 */
async function serve(
  common: Parameters<typeof boot>[0],
  values: { host?: string; port?: string; 'trust-proxy'?: string; watch?: boolean; grace?: string; demo?: boolean },
  io: CliIO,
  signal?: AbortSignal,
): Promise<number> {
  const host = values.host ?? '127.0.0.1';
  const port = Number(values.port ?? io.env['PORT'] ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0–65535, got "${values.port}"`);
  const graceMs = parseDuration(values.grace ?? DEFAULT_GRACE);
  if (graceMs === undefined) throw new UsageError(`--grace takes a duration such as 10s or 500ms, got "${values.grace}"`);
  const proxies = (values['trust-proxy'] ?? io.env['TOKENSMITH_TRUSTED_PROXIES'] ?? '').split(',').filter((s) => s.trim() !== '');
  const logger = createLogger({ ...(io.log ? { destination: io.log } : {}), level: io.env['TOKENSMITH_LOG_LEVEL'] ?? 'info' });
  const booted = await boot(common);
  shout(logger, booted, common.store ?? 'memory');
  const adminSecret = io.env['TOKENSMITH_ADMIN_SECRET'];
  if (adminSecret === undefined) logger.warn({ warning: 'admin' }, 'TOKENSMITH_ADMIN_SECRET is not set: /introspect and /revoke refuse every call');
  const metricsSecret = io.env['TOKENSMITH_METRICS_SECRET'];
  const metricsEndpoint = io.env['TOKENSMITH_METRICS'] === 'off' ? 'off' : metricsSecret ? { secret: metricsSecret } : 'open';
  const metrics = new Metrics({ processMetrics: true });
  const app = createApp({
    engine: booted.engine, trustedProxies: proxies, logger, metrics, metricsEndpoint, demo: values.demo === true, ...(adminSecret ? { adminSecret } : {}),
  });
  const requests = settling(app.callback());
  const server: Server = createServer(requests.handler).listen(port, host);
  const lifecycle = drainable(server);
  await once(server, 'listening');
  const address = server.address();
  const shown = typeof address === 'object' && address ? `http://${host.includes(':') ? `[${host}]` : host}:${address.port}` : String(address);

  const { reload } = reloader(booted, { policies: common.policies, env: io.env, logger, metrics, worker: { plugins: common.plugins ?? [] } });
  const onHangup = () => void reload('SIGHUP');
  process.on('SIGHUP', onHangup);
  const watcher = values.watch
    ? await watchPolicies(common.policies, () => void reload('watch'), {
        onError: (err) => logger.error({ error: { type: err.name, message: err.message } }, 'policy watch failed; SIGHUP still reloads'),
      })
    : undefined;
  logger.info(
    { listen: shown, graceMs, watch: values.watch ?? false, policies: booted.engine.policies.map((p) => ({ id: p.id, routes: p.routes.map((r) => r.path) })) },
    'tokensmith listening',
  );
  io.out(`tokensmith listening on ${shown}`);

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
  logger.info({ cut, store: storeClosed ? 'closed' : 'failed', exitCode: cut > 0 || !storeClosed ? 1 : 0 }, 'tokensmith stopped');
  await flushLogger(logger);
  return cut > 0 || !storeClosed ? 1 : 0;
}
