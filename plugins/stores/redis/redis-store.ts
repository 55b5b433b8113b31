import { Cluster, Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import { SystemClock } from '../../../core/clock.js';
import { StoreUnavailableError } from '../../../core/errors.js';
import type { BulkRevocation, Clock, ExpiringIndex, IndexEntry, SessionOwner, Store } from '../../../core/ports.js';
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

/**
 * An index (`ExpiringIndex`) is two keys in one hash slot (their names share a `{…}` hash tag):
 * a sorted set of members scored by when each expires, on Redis's clock, and a hash of their
 * values. Each script first drops members that expired (a bounded number per call, so a call
 * never runs long; later calls drop the rest), and keeps both keys as long as the latest member.
 */
const INDEX_PRUNE = `
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function prune(at)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', at, 'LIMIT', 0, 500)
  if #gone > 0 then
    redis.call('ZREM', KEYS[1], unpack(gone))
    redis.call('HDEL', KEYS[2], unpack(gone))
  end
end
local function keep(at)
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if #last == 0 then return end
  local left = math.max(1, tonumber(last[2]) - at)
  redis.call('PEXPIRE', KEYS[1], left)
  redis.call('PEXPIRE', KEYS[2], left)
end
`;
const INDEX_ADD = `${INDEX_PRUNE}
local at = now()
prune(at)
redis.call('ZADD', KEYS[1], at + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
keep(at)
return 1`;
/** Returns member, time left (ms), value, … for at most ARGV[1] members, soonest first. */
const INDEX_LIST = `${INDEX_PRUNE}
local at = now()
prune(at)
local found = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. at, '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for i = 1, #found, 2 do
  out[#out + 1] = found[i]
  out[#out + 1] = tostring(tonumber(found[i + 1]) - at)
  out[#out + 1] = redis.call('HGET', KEYS[2], found[i]) or ''
end
return out`;
const INDEX_REMOVE = `${INDEX_PRUNE}
local at = now()
prune(at)
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
keep(at)
return removed`;

interface IndexCommands {
  tsIndexAdd(when: string, values: string, member: string, value: string, ttlMs: number): Promise<number>;
  tsIndexList(when: string, values: string, limit: number): Promise<string[]>;
  tsIndexRemove(when: string, values: string, member: string): Promise<number>;
}

/**
 * Bulk revocation's index of an owner's sessions: a sorted set of keys scored by their expiry
 * (on the engine's clock, `ARGV[2]`). Each addition drops the members already expired
 * (`ARGV[3]` is now) and keeps the set as long as its longest-lived member (`ARGV[4]` ms).
 */
const SESSION_INDEX_ADD = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end`;

/** Takes the index's members not yet expired (`ARGV[1]` is now) and deletes the index, in one step. */
const SESSION_INDEX_TAKE = `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
redis.call('DEL', KEYS[1])
return members`;

/** Raises stamp `ARGV[1]` of the hash to `ARGV[2]` (never lowers it); keeps the hash at least `ARGV[3]` ms. */
const STAMP = `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if current == nil or current < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end`;

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
 * write (values, counters, deny entries, lock indexes, session lists, revocation stamps) is
 * followed by `WAIT N` on the same connection and fails unless N replicas acknowledged it, so
 * what a caller was told is done survives the loss of the primary (docs/operations.md).
 *
 * @example
 * ```ts
 * const store = new RedisStore('redis://127.0.0.1:6379/0', { prefix: 'ts:' });
 * await store.put('k', 'v', 60_000);
 * ```
 */
export class RedisStore implements Store, ExpiringIndex, BulkRevocation {
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
    this.#redis.defineCommand('tsIndexAdd', { numberOfKeys: 2, lua: INDEX_ADD });
    this.#redis.defineCommand('tsIndexList', { numberOfKeys: 2, lua: INDEX_LIST });
    this.#redis.defineCommand('tsIndexRemove', { numberOfKeys: 2, lua: INDEX_REMOVE });
    this.#redis.defineCommand('tsSessionIndexAdd', { numberOfKeys: 1, lua: SESSION_INDEX_ADD });
    this.#redis.defineCommand('tsSessionIndexTake', { numberOfKeys: 1, lua: SESSION_INDEX_TAKE });
    this.#redis.defineCommand('tsStamp', { numberOfKeys: 1, lua: STAMP });
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

  async indexAdd(index: string, member: string, value: string, ttlMs: number): Promise<void> {
    await this.#write((c) => (c as unknown as IndexCommands).tsIndexAdd(...this.#indexKeys(index), member, value, Math.max(1, Math.ceil(ttlMs))));
  }

  async indexList(index: string, limit: number): Promise<IndexEntry[]> {
    const flat = await this.#index.tsIndexList(...this.#indexKeys(index), Math.max(0, Math.floor(limit)));
    const entries: IndexEntry[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      entries.push({ member: flat[i] as string, ttlMs: Number(flat[i + 1]), value: flat[i + 2] as string });
    }
    return entries;
  }

  async indexRemove(index: string, member: string): Promise<boolean> {
    return ((await this.#write((c) => (c as unknown as IndexCommands).tsIndexRemove(...this.#indexKeys(index), member))) as number) > 0;
  }

  async indexSession(owner: SessionOwner, key: string, expiresAt: number): Promise<void> {
    const now = this.#clock.now();
    type Adding = { tsSessionIndexAdd(key: string, ...args: (string | number)[]): unknown };
    await this.#write((c) => (c as unknown as Adding).tsSessionIndexAdd(this.#indexKey(owner), key, expiresAt, now, Math.max(1, Math.ceil(expiresAt - now))));
  }

  /**
   * The owner's list is taken in one step; its sessions are then deleted one command each, not
   * in one script, because they live on other hash slots than the list (a cluster serves one
   * slot per script).
   */
  async revokeSessions(owner: SessionOwner): Promise<number> {
    type Taking = { tsSessionIndexTake(key: string, now: number): unknown };
    const members = (await this.#write((c) => (c as unknown as Taking).tsSessionIndexTake(this.#indexKey(owner), this.#clock.now()))) as string[];
    const deleted = await Promise.all(members.map((member) => this.#write((c) => c.del(this.#prefix + member))));
    return deleted.reduce((sum: number, n) => sum + (n as number), 0);
  }

  async stampNotBefore(key: string, name: string, at: number, ttlMs: number): Promise<void> {
    type Stamping = { tsStamp(key: string, ...args: (string | number)[]): unknown };
    await this.#write((c) => (c as unknown as Stamping).tsStamp(this.#prefix + key, name, Math.floor(at), Math.max(1, Math.ceil(ttlMs))));
  }

  async notBefore(key: string, names: readonly string[]): Promise<(number | undefined)[]> {
    const values = await this.#client.hmget(this.#prefix + key, ...names);
    return values.map((value) => (value === null ? undefined : Number(value)));
  }

  async ttl(key: string): Promise<number | undefined> {
    const left = await this.#client.pttl(this.#prefix + key);
    return left === -2 ? undefined : left === -1 ? Number.MAX_SAFE_INTEGER : left;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#redis.disconnect();
  }

  /** An index's two keys: one `{…}` hash tag, so a script that touches both stays in one slot of a cluster. */
  #indexKeys(index: string): [string, string] {
    const tagged = `${this.#prefix}index:{${index}}`;
    return [`${tagged}:when`, `${tagged}:values`];
  }

  get #index(): IndexCommands {
    return this.#client as unknown as IndexCommands;
  }

  /** The list of an owner's sessions: one key, its hash tag the owner (`{policy:credential:id}:sessions`). */
  #indexKey(owner: SessionOwner): string {
    const who = 'credentialId' in owner ? `credential:${owner.credentialId}` : `subject:${owner.subject}`;
    return `${this.#prefix}{${owner.policyId}:${who}}:sessions`;
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
