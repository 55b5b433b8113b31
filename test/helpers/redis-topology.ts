import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './redis.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every process and directory these helpers made and not yet removed, killed and removed when the test process exits whatever happened. */
const children = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory removed at `dispose` or, failing that, when the test process exits. */
export function tempDir(name: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `ts-${name}-`));
  dirs.add(path);
  return {
    path,
    remove() {
      rmSync(path, { recursive: true, force: true });
      dirs.delete(path);
    },
  };
}

/** One redis-server or redis-sentinel process on loopback. */
export interface RedisProcess {
  readonly port: number;
  /** SIGKILL: the process dies with no chance to hand anything over (a crashed primary). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `command args…` and resolves once its log says it accepts connections. */
export async function spawnRedis(command: 'redis-server' | 'redis-sentinel', args: string[], port: number): Promise<RedisProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start in 10 s:\n${out}`)), 10_000);
    const read = (d: Buffer) => {
      out += d.toString();
      if (/Ready to accept connections|Sentinel ID is/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited ${code}:\n${out}`));
    });
  });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
    children.delete(child);
  };
  return { port, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

/** Server settings every test server shares: loopback only, nothing written to disk, no diskless-sync delay (5 s by default) so a replica syncs at once. */
const BASE = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0'];

/** A client for one node, for the test's own checks (retries, since the node may be busy). */
export function nodeClient(port: number, extra: RedisOptions = {}): Redis {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 3, lazyConnect: false, ...extra });
  client.on('error', () => {});
  return client;
}

/** Polls `check` every 50 ms until it is true, at most `ms`; throws `what` otherwise. */
export async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A real Redis Cluster of three primaries (no replicas) on loopback. */
export interface RedisCluster {
  readonly ports: readonly number[];
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` */
  readonly url: string;
  dispose(): Promise<void>;
}

export async function startCluster(): Promise<RedisCluster> {
  const dir = tempDir('cluster');
  const nodes: RedisProcess[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const [port, bus] = [await freePort(), await freePort()];
      const nodeDir = join(dir.path, String(i));
      mkdirSync(nodeDir);
      nodes.push(
        await spawnRedis(
          'redis-server',
          ['--port', String(port), '--cluster-port', String(bus), ...BASE, '--dir', nodeDir, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'],
          port,
        ),
      );
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 });
    for (const n of nodes) {
      const client = nodeClient(n.port);
      try {
        await until(async () => (await client.cluster('INFO')).includes('cluster_state:ok'), 15_000, `cluster state ok on ${n.port}`);
      } finally {
        client.disconnect();
      }
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill()));
    dir.remove();
    throw err;
  }
  return {
    ports: nodes.map((n) => n.port),
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    async dispose() {
      await Promise.all(nodes.map((n) => n.kill()));
      dir.remove();
    },
  };
}

/**
 * A primary, two replicas and two sentinels (quorum 2: both must see it down, so a slow moment on a busy machine is no failover) watching it as `mymaster`. Two replicas,
 * so that after the primary is lost a write can still wait for one replica (`?wait=1`).
 */
export interface SentinelSet {
  readonly primary: RedisProcess;
  readonly replicas: readonly RedisProcess[];
  readonly sentinels: readonly RedisProcess[];
  /** `redis+sentinel://127.0.0.1:s1,127.0.0.1:s2/mymaster` */
  readonly url: string;
  /** The port of the server the sentinels name as primary now. */
  currentPrimary(): Promise<number>;
  /** Each server's replication role and each sentinel's view, for a failing test's message. */
  describe(): Promise<string>;
  dispose(): Promise<void>;
}

export async function startSentinelSet(): Promise<SentinelSet> {
  const dir = tempDir('sentinel');
  const started: RedisProcess[] = [];
  try {
    // Each server in its own directory: a replica writes the primary's snapshot there to sync.
    const own = (name: string) => {
      mkdirSync(join(dir.path, name));
      return join(dir.path, name);
    };
    const p = await freePort();
    const primary = await spawnRedis('redis-server', ['--port', String(p), ...BASE, '--dir', own('primary')], p);
    started.push(primary);
    const replicas: RedisProcess[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await freePort();
      const replica = await spawnRedis('redis-server', ['--port', String(r), ...BASE, '--dir', own(`replica-${i}`), '--replicaof', '127.0.0.1', String(p)], r);
      started.push(replica);
      replicas.push(replica);
      const probe = nodeClient(r);
      try {
        await until(async () => (await probe.info('replication')).includes('master_link_status:up'), 10_000, 'the replica in sync');
      } finally {
        probe.disconnect();
      }
    }
    const sentinels: RedisProcess[] = [];
    const sentinelPorts = [await freePort(), await freePort()];
    const ids = sentinelPorts.map((_, i) => String(i + 1).repeat(40));
    for (let i = 0; i < 2; i++) {
      const port = sentinelPorts[i] as number;
      const conf = join(dir.path, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir.path}`,
          `sentinel monitor mymaster 127.0.0.1 ${p} 2`,
          'sentinel down-after-milliseconds mymaster 1000',
          'sentinel failover-timeout mymaster 4000',
          'sentinel parallel-syncs mymaster 1',
          // Named here, the replicas need not wait for the sentinel's first INFO (every 10 s).
          ...replicas.map((r) => `sentinel known-replica mymaster 127.0.0.1 ${r.port}`),
          // So are the sentinels, each to the other: one that thinks it is alone could promote a
          // replica while the other promotes another.
          `sentinel myid ${ids[i]}`,
          `sentinel known-sentinel mymaster 127.0.0.1 ${sentinelPorts[1 - i]} ${ids[1 - i]}`,
          '',
        ].join('\n'),
      );
      const sentinel = await spawnRedis('redis-sentinel', [conf], port);
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    // Each sentinel must know the replicas before it can promote one.
    for (const s of sentinels) {
      const client = nodeClient(s.port);
      try {
        // Known from the configuration is not enough: a sentinel promotes only a replica whose
        // INFO it has read (its run id, its link to the primary up).
        const synced = async () => {
          const replicas = (await client.call('SENTINEL', 'REPLICAS', 'mymaster')) as string[][];
          return replicas.length === 2 && replicas.every((fields) => {
            const field = (name: string) => fields[fields.indexOf(name) + 1];
            return field('runid') !== '' && field('master-link-status') === 'ok' && !String(field('flags')).includes('disconnected');
          });
        };
        await until(synced, 15_000, 'the sentinels to know the replicas');
        await until(async () => ((await client.call('SENTINEL', 'SENTINELS', 'mymaster')) as unknown[]).length === 1, 15_000, 'the sentinels to see each other');
      } finally {
        client.disconnect();
      }
    }
    return {
      primary,
      replicas,
      sentinels,
      url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/mymaster`,
      async currentPrimary() {
        const client = nodeClient((sentinels[0] as RedisProcess).port);
        try {
          const [, port] = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster')) as [string, string];
          return Number(port);
        } finally {
          client.disconnect();
        }
      },
      async describe() {
        const lines: string[] = [];
        for (const server of [primary, ...replicas]) {
          const client = nodeClient(server.port, { maxRetriesPerRequest: 0, connectTimeout: 300 });
          const info = await client.info('replication').catch((err: Error) => err.message);
          lines.push(`${server.port}: ${info.split('\r\n').filter((l) => /^(role|master_port|master_link_status|connected_slaves|slave\d)/.test(l)).join(' ')}`);
          client.disconnect();
        }
        for (const sentinel of sentinels) {
          const client = nodeClient(sentinel.port, { maxRetriesPerRequest: 0, connectTimeout: 300 });
          const master = await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster').catch((err: Error) => err.message);
          lines.push(`sentinel ${sentinel.port}: primary ${JSON.stringify(master)}`);
          client.disconnect();
        }
        return lines.join('\n');
      },
      async dispose() {
        await Promise.all(started.map((s) => s.kill()));
        dir.remove();
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.kill()));
    dir.remove();
    throw err;
  }
}

/** A test CA and certificates made with `openssl`: a server one for `localhost`/127.0.0.1, a client one, and a server one for another name. */
export interface TestCertificates {
  readonly dir: string;
  file(name: 'ca.crt' | 'server.crt' | 'server.key' | 'client.crt' | 'client.key' | 'other.crt' | 'other.key'): string;
  remove(): void;
}

export async function makeCertificates(): Promise<TestCertificates> {
  const dir = tempDir('tls');
  const at = (name: string) => join(dir.path, name);
  const key = (name: string) => run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', at(name)]);
  try {
    await key('ca.key');
    await run('openssl', ['req', '-x509', '-new', '-key', at('ca.key'), '-out', at('ca.crt'), '-days', '2', '-subj', '/CN=tokensmith test CA']);
    for (const [name, cn, san] of [
      ['server', 'localhost', 'DNS:localhost,IP:127.0.0.1'],
      ['client', 'tokensmith', 'DNS:tokensmith'],
      ['other', 'other.example', 'DNS:other.example'],
    ] as const) {
      await key(`${name}.key`);
      await run('openssl', ['req', '-new', '-key', at(`${name}.key`), '-out', at(`${name}.csr`), '-subj', `/CN=${cn}`]);
      writeFileSync(at(`${name}.ext`), `subjectAltName=${san}\n`);
      await run('openssl', ['x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at(`${name}.crt`), '-days', '2', '-extfile', at(`${name}.ext`)]);
    }
  } catch (err) {
    dir.remove();
    throw err;
  }
  return { dir: dir.path, file: at, remove: () => dir.remove() };
}

/** A redis-server speaking only TLS, asking clients for a certificate from the test CA, with an ACL user. */
export async function startTlsRedis(certs: TestCertificates, serverCert: 'server' | 'other', user: { name: string; password: string }): Promise<RedisProcess> {
  const port = await freePort();
  return spawnRedis(
    'redis-server',
    [
      '--port', '0', '--tls-port', String(port), ...BASE,
      '--tls-cert-file', certs.file(`${serverCert}.crt`), '--tls-key-file', certs.file(`${serverCert}.key`),
      '--tls-ca-cert-file', certs.file('ca.crt'), '--tls-auth-clients', 'yes',
      // redis-server joins the words after an option up to the next "--" into its value.
      '--user', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all', '--user', 'default', 'off',
    ],
    port,
  );
}
