import { StoreUnavailableError } from '../../../core/errors.js';
import type { Clock, RecordHolder, Store, TokenRecord } from '../../../core/ports.js';

/** A text value, or a record the store must forget before its own expiry, with when it expires. */
class Held {
  value: string | TokenRecord;
  readonly expiresAt: number;

  constructor(value: string | TokenRecord, expiresAt: number) {
    this.value = value;
    this.expiresAt = expiresAt;
  }
}

/**
 * What the map holds under a key. A token record that expires with its key is kept as itself: its
 * own `expiresAt` is the key's expiry, so a held session costs no wrapper object (and no boxed
 * number for a second copy of the time).
 */
type Slot = Held | TokenRecord;

const text = (slot: Slot | undefined): string | undefined =>
  slot instanceof Held && typeof slot.value === 'string' ? slot.value : undefined;
const recordOf = (slot: Slot | undefined): TokenRecord | undefined => {
  if (!(slot instanceof Held)) return slot;
  return typeof slot.value === 'string' ? undefined : slot.value;
};

/**
 * The embedded default store: a `Map` with expiry, for one process. Time comes only from the
 * injected clock; memory is freed by a min-heap of expiry times swept (amortised O(log n)) on
 * every write, so a stream of one-off keys cannot grow it without bound. The heap is two arrays,
 * keys and times (V8 keeps an array of numbers as raw doubles): no object per node.
 *
 * Token records are kept as objects (`RecordHolder`): no encoding on issue, no parsing on verify,
 * and those calls answer at once rather than with a promise.
 *
 * Atomicity: Node runs one callback at a time and no method `await`s between its read and its
 * write, so each method is atomic with respect to every other call.
 *
 * @example
 * ```ts
 * const store = new MemoryStore(new SystemClock());
 * await store.put('k', 'v', 60_000);
 * ```
 */
export class MemoryStore implements Store, RecordHolder {
  readonly #clock: Clock;
  readonly #entries = new Map<string, Slot>();
  /** The expiry heap: `#heapKeys[i]` expires at `#heapTimes[i]`. */
  readonly #heapKeys: string[] = [];
  readonly #heapTimes: number[] = [];
  #closed = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Entries held, including expired ones not swept yet (at most those expired since the last write). */
  get size(): number {
    return this.#entries.size;
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    this.#write(key, value, this.#clock.now() + ttlMs);
  }

  async putIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.#live(key) !== undefined) return false;
    this.#write(key, value, this.#clock.now() + ttlMs);
    return true;
  }

  async get(key: string): Promise<string | undefined> {
    return text(this.#live(key));
  }

  /** Held until `ttlMs` from now, or until the record's own expiry when that comes first (an expired record is never read). */
  putRecord(key: string, record: TokenRecord, ttlMs: number): void {
    const expiresAt = this.#clock.now() + ttlMs;
    if (record.expiresAt <= expiresAt) this.#hold(key, record, record.expiresAt);
    else this.#write(key, record, expiresAt);
  }

  getRecord(key: string): TokenRecord | undefined {
    return recordOf(this.#live(key));
  }

  consumeRecord(key: string): TokenRecord | undefined {
    const record = recordOf(this.#live(key));
    if (record !== undefined) this.#entries.delete(key);
    return record;
  }

  async delete(key: string): Promise<boolean> {
    this.#open();
    const existed = this.#live(key) !== undefined;
    this.#entries.delete(key);
    return existed;
  }

  async consume(key: string): Promise<string | undefined> {
    const value = text(this.#live(key));
    if (value !== undefined) this.#entries.delete(key);
    return value;
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; resetAt: number }> {
    const entry = this.#live(key);
    if (entry === undefined) {
      const resetAt = this.#clock.now() + windowMs;
      this.#write(key, '1', resetAt);
      return { count: 1, resetAt };
    }
    const count = (Number.parseInt(text(entry) ?? '', 10) || 0) + 1;
    if (entry instanceof Held) entry.value = String(count);
    else this.#write(key, String(count), entry.expiresAt);
    return { count, resetAt: entry.expiresAt };
  }

  async deny(tokenId: string, expiresAt: number): Promise<void> {
    this.#write(`deny:${tokenId}`, '1', expiresAt);
  }

  async isDenied(tokenId: string): Promise<boolean> {
    return this.#live(`deny:${tokenId}`) !== undefined;
  }

  async ttl(key: string): Promise<number | undefined> {
    const entry = this.#live(key);
    return entry === undefined ? undefined : entry.expiresAt - this.#clock.now();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#entries.clear();
    this.#heapKeys.length = 0;
    this.#heapTimes.length = 0;
  }

  #open(): void {
    if (this.#closed) throw new StoreUnavailableError('the memory store is closed');
  }

  #live(key: string): Slot | undefined {
    this.#open();
    const slot = this.#entries.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt > this.#clock.now()) return slot;
    this.#entries.delete(key);
    return undefined;
  }

  #write(key: string, value: string | TokenRecord, expiresAt: number): void {
    this.#hold(key, new Held(value, expiresAt), expiresAt);
  }

  #hold(key: string, slot: Slot, expiresAt: number): void {
    this.#open();
    this.#sweep();
    this.#entries.set(key, slot);
    this.#push(key, expiresAt);
  }

  /**
   * Drops every entry whose expiry has passed. A heap node can be stale (its key written again
   * since, or deleted): the key is dropped only when what it holds now has expired.
   */
  #sweep(): void {
    const now = this.#clock.now();
    const times = this.#heapTimes;
    while (times.length > 0 && (times[0] as number) <= now) {
      const key = this.#pop();
      const slot = this.#entries.get(key);
      if (slot !== undefined && slot.expiresAt <= now) this.#entries.delete(key);
    }
  }

  #push(key: string, expiresAt: number): void {
    const keys = this.#heapKeys;
    const times = this.#heapTimes;
    let i = keys.length;
    keys.push(key);
    times.push(expiresAt);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((times[parent] as number) <= expiresAt) break;
      keys[i] = keys[parent] as string;
      times[i] = times[parent] as number;
      i = parent;
    }
    keys[i] = key;
    times[i] = expiresAt;
  }

  #pop(): string {
    const keys = this.#heapKeys;
    const times = this.#heapTimes;
    const top = keys[0] as string;
    const lastKey = keys.pop() as string;
    const lastTime = times.pop() as number;
    const n = keys.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && (times[right] as number) < (times[left] as number) ? right : left;
        if ((times[child] as number) >= lastTime) break;
        keys[i] = keys[child] as string;
        times[i] = times[child] as number;
        i = child;
      }
      keys[i] = lastKey;
      times[i] = lastTime;
    }
    return top;
  }
}
