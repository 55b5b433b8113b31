import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ALL_POLICIES } from './env.js';

export interface HttpResult {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Mean req/s of each measured round, in round order: rounds of one group ran side by side. */
  rounds: number[];
  /** CPU time the server's processes used per request while measured (Linux /proc), in µs; a core serves 1e6 / this a second. */
  cpuUsPerRequest?: number;
  /** CPU time the load generator (this process) used per request of this case, in µs: on the same machine it is not the server's. */
  loadCpuUsPerRequest: number;
}

export interface HttpCase {
  name: string;
  server: string;
  path: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Runs once against the started server before the load (e.g. obtains a session to verify); returns the path to load. */
  setup?: (url: string) => Promise<string>;
}

const CONNECTIONS = 32;
const WARMUP_S = 2;
const MEASURE_S = Number(process.env['BENCH_SECONDS'] ?? 9);
const ROUNDS = 9;
const PIN = spawnSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' }).status === 0;

/** `serve-workers-N`: `tokensmith serve --workers N` on the bench Redis, as an operator runs it. */
const SERVE_WORKERS = /^serve-workers-(\d+)$/;

async function startServer(kind: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const workers = SERVE_WORKERS.exec(kind)?.[1];
  if (workers !== undefined) return startServe(Number(workers), env);
  // Server on core 1, load generator (this process, pinned in run.ts) on core 0, when taskset
  // exists: the two then do not steal each other's CPU, which otherwise swamps the ratios.
  const pinned = PIN ? ['taskset', ['-c', '1', process.execPath]] : [process.execPath, []];
  const child = spawn(pinned[0] as string, [...(pinned[1] as string[]), 'dist/bench/servers.js', kind, '0'], {
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind}: server did not start in 15 s`)), 15_000);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${kind}: server exited ${code}`)));
  });
  return { child, port };
}

/**
 * `tokensmith serve --workers N` on every core (not pinned: a worker per core is the point), its
 * JSON log to a file as the other servers of ours log, the example policies, the bench Redis.
 */
async function startServe(workers: number, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const logFile = process.env['BENCH_LOG'] ?? join(tmpdir(), `tokensmith-bench-serve-${process.pid}-${workers}.log`);
  const log = openSync(logFile, 'a');
  const policies = ALL_POLICIES.flatMap((p) => ['--policies', p]);
  const child = spawn(
    process.execPath,
    ['bin/tokensmith.js', 'serve', '--port', '0', '--workers', String(workers), '--store', env['BENCH_REDIS_URL'] ?? '', ...policies, '--log-format', 'json'],
    { env: { ...process.env, ...env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', log] },
  );
  closeSync(log);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve --workers ${workers}: did not start in 30 s (log: ${logFile})`)), 30_000);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/[^\s]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`serve --workers ${workers}: exited ${code} (log: ${logFile})`)));
  });
  return { child, port };
}

/** CPU time (ms) a process and every descendant still running have used, from Linux's /proc; `undefined` elsewhere. */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in ticks of 10 ms.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let ms = (Number(fields[11]) + Number(fields[12])) * 10;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) ms += cpuMs(Number(child)) ?? 0;
    }
    return ms;
  } catch {
    return undefined;
  }
}

function load(url: string, c: HttpCase, seconds: number): Promise<autocannon.Result> {
  // Bounded in time (duration) and in count (maxOverallRequests caps the count; duration stays the time bound).
  return autocannon({
    url: `${url}${c.path}`,
    method: c.method,
    connections: CONNECTIONS,
    duration: seconds,
    maxOverallRequests: 400_000 * seconds,
    ...(c.headers ? { headers: c.headers } : {}),
  });
}

/** The middle value (the upper of the two middle ones for an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/**
 * Runs cases side by side: each case's server in its own child process (all started first),
 * load from this one, on loopback; after a warm-up, the cases take turns for `ROUNDS` rounds so
 * that drift in the machine's state affects them alike. Reports each case's median round and
 * every round's rate (for ratios taken round by round).
 */
export async function runHttp(cases: readonly HttpCase[], env: Record<string, string>): Promise<HttpResult[]> {
  const servers: { child: ChildProcess; port: number }[] = [];
  try {
    for (const c of cases) servers.push(await startServer(c.server, env));
    const rounds: autocannon.Result[][] = cases.map(() => []);
    const urls = servers.map((s) => `http://127.0.0.1:${s.port}`);
    const ready: HttpCase[] = [];
    for (const [i, c] of cases.entries()) ready.push(c.setup ? { ...c, path: await c.setup(urls[i] as string) } : c);
    for (const [i, c] of ready.entries()) await load(urls[i] as string, c, WARMUP_S);
    const cpuBefore = servers.map((s) => cpuMs(s.child.pid));
    const loadCpuUs = cases.map(() => 0);
    for (let round = 0; round < ROUNDS; round++) {
      // Every other round in reverse order, so that no case always runs first or last in a round.
      const order = [...ready.keys()];
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        const before = process.cpuUsage();
        rounds[i]?.push(await load(urls[i] as string, ready[i] as HttpCase, MEASURE_S / ROUNDS));
        const used = process.cpuUsage(before);
        loadCpuUs[i] = (loadCpuUs[i] ?? 0) + used.user + used.system;
      }
    }
    const cpuAfter = servers.map((s) => cpuMs(s.child.pid));
    return cases.map((c, i) => {
      const rs = rounds[i] as autocannon.Result[];
      const before = cpuBefore[i];
      const after = cpuAfter[i];
      const requests = rs.reduce((n, r) => n + r.requests.total, 0);
      return {
        ...(before === undefined || after === undefined || requests === 0 ? {} : { cpuUsPerRequest: ((after - before) * 1000) / requests }),
        loadCpuUsPerRequest: requests === 0 ? 0 : (loadCpuUs[i] ?? 0) / requests,
        name: c.name,
        rps: median(rs.map((r) => r.requests.average)),
        p50: median(rs.map((r) => r.latency.p50)),
        p99: median(rs.map((r) => r.latency.p99)),
        errors: rs.reduce((n, r) => n + r.errors, 0),
        non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
        rounds: rs.map((r) => r.requests.average),
      };
    });
  } finally {
    for (const { child } of servers) child.kill('SIGTERM');
  }
}
