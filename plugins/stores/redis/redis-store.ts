import { Redis } from 'ioredis';
import { SystemClock } from '../../../core/clock.js';
import { StoreUnavailableError } from '../../../core/errors.js';
import type { Clock, Store } from '../../../core/ports.js';

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
  /** Prepended to every key (default `tokensmith:`), so several deployments can share a Redis. */
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
 * The shared store for several hosts, on ioredis. Every operation is one Redis command or one
 * Lua script, so it is atomic across hosts; nothing is read and then written from here.
 * While Redis is unreachable, calls fail at once (no offline queue) and the engine answers
 * "store unavailable"; ioredis keeps reconnecting, so service resumes without a restart.
 *
 * @example
 * ```ts
 * const store = new RedisStore('redis://127.0.0.1:6379/0', { prefix: 'ts:' });
 * await store.put('k', 'v', 60_000);
 * ```
 */
export class RedisStore implements Store {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #clock: Clock;
  #closed = false;

  constructor(url: string, options: RedisStoreOptions = {}) {
    const parsed = new URL(url);
    this.#clock = options.clock ?? new SystemClock();
    this.#prefix = options.prefix ?? parsed.searchParams.get('prefix') ?? 'tokensmith:';
    this.#redis = new Redis({
      host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
      port: Number(parsed.port || 6379),
      db: Number(parsed.pathname.slice(1) || 0),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: 1_000,
      // Reconnect for ever, at most every 500 ms, so a Redis that comes back is used again.
      retryStrategy: (times: number) => Math.min(50 * times, 500),
      lazyConnect: false,
    });
    this.#redis.defineCommand('tsIncrement', { numberOfKeys: 1, lua: INCREMENT });
    // Errors surface on the calls; an unhandled 'error' event would crash the host.
    this.#redis.on('error', () => {});
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
    await this.#client.set(this.#prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async putIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.#client.set(this.#prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#client.get(this.#prefix + key)) ?? undefined;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#client.del(this.#prefix + key)) > 0;
  }

  async consume(key: string): Promise<string | undefined> {
    return (await this.#client.getdel(this.#prefix + key)) ?? undefined;
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; resetAt: number }> {
    const redis = this.#client as unknown as { tsIncrement(key: string, windowMs: number): Promise<[number, number]> };
    const [count, leftMs] = await redis.tsIncrement(this.#prefix + key, Math.max(1, Math.ceil(windowMs)));
    return { count, resetAt: this.#clock.now() + leftMs };
  }

  async deny(tokenId: string, expiresAt: number): Promise<void> {
    await this.#client.set(`${this.#prefix}deny:${tokenId}`, '1', 'PX', Math.max(1, Math.ceil(expiresAt - this.#clock.now())));
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

  /** The client, for a store still open: a closed one refuses calls with a stable code. */
  get #client(): Redis {
    if (this.#closed) throw new StoreUnavailableError('the Redis store is closed');
    return this.#redis;
  }
}
