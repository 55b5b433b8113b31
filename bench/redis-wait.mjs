// A measurement, not a test: `npm run build && node bench/redis-wait.mjs dist 2000`
// The cost of `?wait=1` (each write waits until one replica acknowledged it) on a loopback
// primary with one replica: N lockout-counter increments one after another (latency), then N
// with 32 in flight (throughput), with and without the option. Prints JSON; the figures quoted
// in docs/operations.md come from here.
const [dist, count] = process.argv.slice(2);
const { resolve } = await import('node:path');
const root = resolve(dist ?? 'dist');
const { RedisStore } = await import(`${root}/plugins/stores/redis/index.js`);
const { freePort } = await import(`${root}/test/helpers/redis.js`);
const { nodeClient, spawnRedis, tempDir, until } = await import(`${root}/test/helpers/redis-topology.js`);
const n = Math.min(Math.max(Number(count ?? 2000), 100), 100_000);

const dir = tempDir('wait-bench');
const [p, r] = [await freePort(), await freePort()];
const base = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0'];
const primary = await spawnRedis('redis-server', ['--port', String(p), ...base, '--dir', dir.path], p);
const replica = await spawnRedis('redis-server', ['--port', String(r), ...base, '--dir', dir.path, '--replicaof', '127.0.0.1', String(p), '--dbfilename', 'replica.rdb'], r);
// The replica in sync, as the primary sees it, before anything is measured.
const probe = nodeClient(p);
await until(async () => (await probe.info('replication')).includes('state=online'), 10_000, 'the replica in sync');
probe.disconnect();
const results = {};
try {
  for (const [label, query] of [['no wait', ''], ['wait=1', '?wait=1']]) {
    const store = new RedisStore(`redis://127.0.0.1:${p}/0${query}`, { prefix: `bench-${label.replace(/\W/g, '')}:` });
    await until(() => store.ready(), 10_000, 'the store ready');
    // Warm up: the script is loaded, and a write waited for succeeds (a replica just synced may
    // not acknowledge the first ones in time).
    await until(async () => (await store.increment('warm', 60_000)) !== undefined, 10_000, 'a first write acknowledged');
    for (let i = 0; i < 200; i++) await store.increment(`warm${i % 10}`, 60_000);
    const latencies = [];
    for (let i = 0; i < n; i++) {
      const started = process.hrtime.bigint();
      await store.increment(`seq${i % 1000}`, 60_000);
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    latencies.sort((a, b) => a - b);
    const started = process.hrtime.bigint();
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < n) await store.increment(`par${next++ % 1000}`, 60_000);
    }));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    results[label] = {
      medianMs: Number(latencies[Math.floor(n / 2)].toFixed(3)),
      p99Ms: Number(latencies[Math.floor(n * 0.99)].toFixed(3)),
      per32InFlightPerSecond: Math.round(n / seconds),
    };
    await store.close();
  }
} finally {
  await primary.kill();
  await replica.kill();
  dir.remove();
}
process.stdout.write(`${JSON.stringify({ increments: n, ...results })}\n`);
