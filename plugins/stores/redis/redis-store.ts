import { Cluster, Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import { SystemClock } from '../../../core/clock.js';
import { StoreUnavailableError } from '../../../core/errors.js';
import type { Clock, Store } from '../../../core/ports.js';
import { checkPrefix, redisUrlOptions, type RedisUrlOptions } from './options.js';

/**
 * `INCR` within a window that starts at the first increment; a counter rewritten by `put`
 * keeps the lifetime `put` gave it. Returns the count and the window's remaining lifetime, read
 * in the same atomic step; the store adds it to its clock's now for `resetAt`, so two calls in
 * one window may report ends a millisecond apart (Redis's own absolute expiry would be exact,
 * but on Redis's clock, not the engine's).
 */
const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {count, redis.call('PTTL', KEYS[1])}`;

export interface RedisStoreOptions {
  /**
   * Prepended to every key (default `tokensmith:`), so several deployments can share a Redis.
   * Without `{` or `}`: Redis Cluster would hash only the part between them.
   */
  prefix?: string;
  /** A command not answered within this many ms fails (default 500): no long hangs. */
  commandTimeoutMs?: number;
  /**
   * The engine's clock (default the system clock). Lifetimes are Redis's own, counted from each
   * command; instants given to the store (`deny`'s expiry) and reported by it (`increment`'s
   * `resetAt`) are on this clock, as with the memory store, never on Redis's or the host's.
   */
  clock?: Clock;
}

/**
 * The shared store for several hosts, on ioredis: one server (`redis://`, `rediss://`), a
 * primary found through Sentinel (`redis+sentinel://`) or a Redis Cluster (`redis+cluster://`);
 * the URL forms are read by `options.ts`. Every operation is one Redis command or one Lua
 * script on one key, so it is atomic across hosts and never crosses hash slots; nothing is read
 * and then written from here. A key is hashed whole (the engine's keys carry the session's own
 * digest or the credential's id), so one policy's sessions spread over every cluster shard. An
 * operation that ever touches several keys must give them one hash tag made of the record's own
 * id (`{<digest>}`), never of the policy, or the policy would live on one shard.
 *
 * While Redis is unreachable, calls fail at once (no offline queue) and the engine answers
 * "store unavailable"; ioredis keeps reconnecting (asking the sentinels for the current primary,
 * or the cluster for its slots), so service resumes without a restart. With `?wait=N` every
 * write is followed by `WAIT N` on the same connection and fails unless N replicas acknowledged
 * it, so what a caller was told is done survives the loss of the primary (docs/operations.md).
 *
 * @example
 * ```ts
 * const store = new RedisStore('redis://127.0.0.1:6379/0', { prefix: 'ts:' });
 * await store.put('k', 'v', 60_000);
 * ```
 */
export class RedisStore implements Store {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #clock: Clock;
  readonly #wait: number;
  readonly #waitTimeoutMs: number;
  #closed = false;

  constructor(url: string, options: RedisStoreOptions = {}) {
    const parsed = redisUrlOptions(url);
    if (options.prefix !== undefined) checkPrefix(options.prefix);
    this.#clock = options.clock ?? new SystemClock();
    this.#prefix = options.prefix ?? parsed.prefix ?? 'tokensmith:';
    this.#wait = parsed.wait;
    this.#waitTimeoutMs = parsed.waitTimeoutMs;
    // A write that waits for replicas may take the whole wait on top of the usual answer time.
    const commandTimeout = (options.commandTimeoutMs ?? 500) + (parsed.wait > 0 ? parsed.waitTimeoutMs : 0);
    this.#redis = client(parsed, commandTimeout);
    this.#redis.defineCommand('tsIncrement', { numberOfKeys: 1, lua: INCREMENT });
    // Errors surface on the calls; an unhandled 'error' event would crash the host.
    this.#redis.on('error', () => {});
    // ioredis stops for good ('end') in a few races (a connection attempt cut short); a store not
    // closed by its owner starts again, so a host never needs a restart to reach Redis.
    this.#redis.on('end', () => {
      if (!this.#closed) setTimeout(() => this.#closed || this.#redis.connect().catch(() => {}), 500).unref();
    });
  }

  /** Whether Redis answers now (for `GET /readyz`). */
  async ready(): Promise<boolean> {
    if (this.#closed || this.#redis.status !== 'ready') return false;
    try {
      return (await this.#redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    await this.#write((c) => c.set(this.#prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async putIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.#write((c) => c.set(this.#prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'))) === 'OK';
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#client.get(this.#prefix + key)) ?? undefined;
  }

  async delete(key: string): Promise<boolean> {
    return ((await this.#write((c) => c.del(this.#prefix + key))) as number) > 0;
  }

  async consume(key: string): Promise<string | undefined> {
    return ((await this.#write((c) => c.getdel(this.#prefix + key))) as string | null) ?? undefined;
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; resetAt: number }> {
    const windowPx = Math.max(1, Math.ceil(windowMs));
    const [count, leftMs] = (await this.#write((c) => (c as unknown as Incrementing<typeof c>).tsIncrement(this.#prefix + key, windowPx))) as [number, number];
    return { count, resetAt: this.#clock.now() + leftMs };
  }

  async deny(tokenId: string, expiresAt: number): Promise<void> {
    await this.#write((c) => c.set(`${this.#prefix}deny:${tokenId}`, '1', 'PX', Math.max(1, Math.ceil(expiresAt - this.#clock.now()))));
  }

  async isDenied(tokenId: string): Promise<boolean> {
    return (await this.#client.exists(`${this.#prefix}deny:${tokenId}`)) === 1;
  }

  async ttl(key: string): Promise<number | undefined> {
    const left = await this.#client.pttl(this.#prefix + key);
    return left === -2 ? undefined : left === -1 ? Number.MAX_SAFE_INTEGER : left;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#redis.disconnect();
  }

  /**
   * Runs one write. With `wait` set, the write and a `WAIT` go in one pipeline, so both reach the
   * node that owns the key (on a cluster, ioredis routes the pipeline by its one key), and the
   * write counts as done only once enough replicas acknowledged it.
   */
  async #write(command: (c: ChainableCommander) => unknown): Promise<unknown> {
    const client = this.#client;
    if (this.#wait === 0) return command(client as unknown as ChainableCommander);
    const pipeline = client.pipeline();
    command(pipeline);
    pipeline.wait(this.#wait, this.#waitTimeoutMs);
    const [[writeError, result], [waitError, acknowledged]] = (await pipeline.exec()) as [[Error | null, unknown], [Error | null, number]];
    if (writeError !== null) throw writeError;
    if (waitError !== null) throw waitError;
    if (acknowledged < this.#wait) {
      throw new StoreUnavailableError(`the write reached ${acknowledged} of the ${this.#wait} replicas asked for within ${this.#waitTimeoutMs} ms`);
    }
    return result;
  }

  /** The client, for a store still open: a closed one refuses calls with a stable code. */
  get #client(): Redis | Cluster {
    if (this.#closed) throw new StoreUnavailableError('the Redis store is closed');
    return this.#redis;
  }
}

type Incrementing<C> = C & { tsIncrement(key: string, windowMs: number): unknown };

/** The ioredis client for a parsed URL: one server, a primary behind sentinels, or a cluster. */
function client(url: RedisUrlOptions, commandTimeout: number): Redis | Cluster {
  const tls = url.tls === undefined ? {} : { tls: { ...url.tls } };
  const connection: RedisOptions = {
    ...(url.username === undefined ? {} : { username: url.username }),
    ...(url.password === undefined ? {} : { password: url.password }),
    ...tls,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout,
    connectTimeout: 1_000,
    // Reconnect for ever, at most every 500 ms, so a Redis that comes back is used again.
    retryStrategy: (times: number) => Math.min(50 * times, 500),
    lazyConnect: false,
  };
  const [first] = url.nodes as [RedisUrlOptions['nodes'][number]];
  if (url.mode === 'single') return new Redis({ ...connection, host: first.host, port: first.port, db: url.db });
  if (url.mode === 'sentinel') {
    return new Redis({
      ...connection,
      db: url.db,
      sentinels: url.nodes.map(({ host, port }) => ({ host, port })),
      name: url.primaryName as string,
      ...(url.sentinelUsername === undefined ? {} : { sentinelUsername: url.sentinelUsername }),
      ...(url.sentinelPassword === undefined ? {} : { sentinelPassword: url.sentinelPassword }),
      ...(url.tls === undefined ? {} : { enableTLSForSentinelMode: true, sentinelTLS: { ...url.tls } }),
      // ioredis's failoverDetector is left off: when the sentinels' switch announcement arrives
      // while the client is between two reconnection attempts, it ends the client for good (seen
      // in the failover test). A lost primary closes the connection, and a demoted one answers
      // writes with READONLY (below): either makes the client ask the sentinels again.
      sentinelRetryStrategy: (times: number) => Math.min(50 * times, 500),
      reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
    });
  }
  return new Cluster(
    url.nodes.map(({ host, port }) => ({ host, port })),
    {
      redisOptions: connection,
      enableOfflineQueue: false,
      // Follow MOVED and ASK (a slot migrating) without failing the call; keep retrying the cluster.
      maxRedirections: 16,
      clusterRetryStrategy: (times: number) => Math.min(100 * times, 1_000),
      slotsRefreshTimeout: 1_000,
    },
  );
}
