import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';

export interface HttpResult {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Mean req/s of each measured round, in round order: rounds of one group ran side by side. */
  rounds: number[];
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

async function startServer(kind: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
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
    for (let round = 0; round < ROUNDS; round++) {
      // Every other round in reverse order, so that no case always runs first or last in a round.
      const order = [...ready.keys()];
      if (round % 2 === 1) order.reverse();
      for (const i of order) rounds[i]?.push(await load(urls[i] as string, ready[i] as HttpCase, MEASURE_S / ROUNDS));
    }
    return cases.map((c, i) => {
      const rs = rounds[i] as autocannon.Result[];
      return {
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
