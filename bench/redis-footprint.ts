/**
 * What one live session, one revoked token and one lockout counter cost in Redis, per style, on
 * a real redis-server: `npm run build && node dist/bench/redis-footprint.js [N]` (default 20000).
 * For each example policy it issues N tokens through the engine and the Redis store, then
 * verifies N of them, and reads the server's own accounting before and after: `used_memory`
 * (INFO memory) and `MEMORY USAGE` of the keys made, the commands run (INFO commandstats) and
 * the server's CPU time (INFO cpu). Then it revokes N self-contained tokens (the deny list) and
 * sends N wrong licences from N addresses (Melissa's lockout counters per address). Prints JSON;
 * docs/operations.md ("Capacity") holds the figures. A measurement, not a test.
 */
import { Redis } from 'ioredis';
import { tokenRequestFrom } from '../core/request.js';
import type { TokenRequest } from '../core/ports.js';
import { boot } from '../server/bootstrap.js';
import { BENCH_ENV } from './env.js';
import { startBenchRedis } from './redis.js';

const N = Number(process.argv[2] ?? 20_000);
/** Keys whose `MEMORY USAGE` is averaged (a sample: MEMORY USAGE itself costs a command per key). */
const SAMPLE = 500;

interface Reading {
  usedMemory: number;
  keys: number;
  calls: number;
  cpuUs: number;
}

async function read(client: Redis): Promise<Reading> {
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(text)?.[1] ?? NaN);
  const memory = await client.info('memory');
  const cpu = await client.info('cpu');
  const stats = await client.info('commandstats');
  const calls = [...stats.matchAll(/calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  return {
    usedMemory: field(memory, 'used_memory'),
    keys: await client.dbsize(),
    calls,
    cpuUs: (field(cpu, 'used_cpu_user') + field(cpu, 'used_cpu_sys')) * 1e6,
  };
}

/** Mean `MEMORY USAGE` of up to SAMPLE keys matching `pattern`. */
async function sampledUsage(client: Redis, pattern: string): Promise<number | undefined> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0' && keys.length < SAMPLE);
  if (keys.length === 0) return undefined;
  let total = 0;
  for (const key of keys.slice(0, SAMPLE)) total += (await client.memory('USAGE', key)) ?? 0;
  return Math.round(total / Math.min(keys.length, SAMPLE));
}

/** Per operation: memory held, keys made, Redis commands and Redis CPU. The reading's own INFO calls are taken off. */
function per(before: Reading, after: Reading, n: number) {
  return {
    bytesHeld: Math.round((after.usedMemory - before.usedMemory) / n),
    keysMade: +((after.keys - before.keys) / n).toFixed(2),
    redisCommands: +((after.calls - before.calls - 4) / n).toFixed(2),
    redisCpuUs: +((after.cpuUs - before.cpuUs) / n).toFixed(1),
  };
}

interface Style {
  policy: string;
  issue: TokenRequest;
  verify: TokenRequest;
}

const local = '127.0.0.1';
const STYLES: Style[] = [
  {
    policy: 'melissa',
    issue: tokenRequestFrom({ L: BENCH_ENV['MELISSA_LICENSE'] as string, P: 'pkgExpressEntry' }, local),
    verify: tokenRequestFrom({}, local),
  },
  {
    policy: 'electa',
    issue: tokenRequestFrom({ CID: BENCH_ENV['ELECTA_CID'] as string, AppKey: BENCH_ENV['ELECTA_APPKEY'] as string }, local),
    verify: tokenRequestFrom({ CID: BENCH_ENV['ELECTA_CID'] as string }, local),
  },
  { policy: 'emalidate', issue: tokenRequestFrom({}, local), verify: tokenRequestFrom({}, local) },
  { policy: 'xdoc', issue: tokenRequestFrom({}, local), verify: tokenRequestFrom({ XSC: BENCH_ENV['XDOC_CONTEXT'] as string }, local) },
];

async function main(): Promise<void> {
  const redis = await startBenchRedis();
  if (redis === undefined) throw new Error('redis-server not found');
  const client = new Redis(redis.url);
  const out: Record<string, unknown> = { n: N, redis: (await client.info('server')).match(/^redis_version:(\S+)/m)?.[1] };
  try {
    for (const style of STYLES) {
      await redis.flush();
      const { engine, store } = await boot({ policies: [`policies/${style.policy}.yaml`], store: redis.url, env: BENCH_ENV });
      try {
        await engine.issue(style.policy, style.issue); // the first call loads the store's scripts and compiles what it needs
        const tokens: string[] = [];
        const beforeIssue = await read(client);
        for (let i = 0; i < N; i++) tokens.push((await engine.issue(style.policy, style.issue)).token);
        const afterIssue = await read(client);
        for (const token of tokens) await engine.verify(style.policy, token, style.verify);
        const afterVerify = await read(client);
        const issue = per(beforeIssue, afterIssue, N);
        const verify = per(afterIssue, afterVerify, N);
        out[style.policy] = {
          issue: { ...issue, memoryUsageOfKey: await sampledUsage(client, '*token:*') },
          verify: { redisCommands: verify.redisCommands, redisCpuUs: verify.redisCpuUs },
        };
        if (style.policy === 'emalidate') {
          const beforeRevoke = await read(client);
          for (const token of tokens) await engine.revoke(token, style.policy);
          const afterRevoke = await read(client);
          out['emalidate revoked'] = { ...per(beforeRevoke, afterRevoke, N), memoryUsageOfKey: await sampledUsage(client, '*deny:*') };
        }
        if (style.policy === 'melissa') {
          const beforeLock = await read(client);
          for (let i = 0; i < N; i++) {
            const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
            await engine.issue('melissa', tokenRequestFrom({ L: `wrong-licence-${i}` }, address)).catch(() => undefined);
          }
          const afterLock = await read(client);
          out['melissa failed attempt (new licence, new address: two lockout counters)'] = { ...per(beforeLock, afterLock, N), memoryUsageOfKey: await sampledUsage(client, '*lockout*') };
        }
      } finally {
        await store.close();
      }
    }
  } finally {
    client.disconnect();
    redis.stop();
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
