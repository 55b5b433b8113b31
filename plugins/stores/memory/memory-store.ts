import type { Clock, RecordHolder, Store, TokenRecord } from '../../../core/ports.js';

/** One value; the same object sits in the map and in the expiry heap (one allocation a write). */
interface Entry {
  readonly key: string;
  /** Text from `put`, or a token record kept as the (frozen) object itself. */
  value: string | TokenRecord;
  readonly expiresAt: number;
}

const text = (entry: Entry | undefined): string | undefined => (typeof entry?.value === 'string' ? entry.value : undefined);
const recordOf = (entry: Entry | undefined): TokenRecord | undefined =>
  entry === undefined || typeof entry.value === 'string' ? undefined : entry.value;

type HeapNode = Entry;

/**
 * The embedded default store: a `Map` with expiry, for one process. Time comes only from the
 * injected clock; memory is freed by a min-heap of expiry times swept (amortised O(log n)) on
 * every write, so a stream of one-off keys cannot grow it without bound.
 *
 * Token records are kept as objects (`RecordHolder`): no encoding on issue, no parsing on verify.
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
  readonly #entries = new Map<string, Entry>();
  readonly #heap: HeapNode[] = [];
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

  async putRecord(key: string, record: TokenRecord, ttlMs: number): Promise<void> {
    this.#write(key, record, this.#clock.now() + ttlMs);
  }

  async getRecord(key: string): Promise<TokenRecord | undefined> {
    return recordOf(this.#live(key));
  }

  async consumeRecord(key: string): Promise<TokenRecord | undefined> {
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
    entry.value = String(count);
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
    this.#heap.length = 0;
  }

  #open(): void {
    if (this.#closed) throw new Error('memory store is closed');
  }

  #live(key: string): Entry | undefined {
    this.#open();
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.#clock.now()) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  #write(key: string, value: string | TokenRecord, expiresAt: number): void {
    this.#open();
    this.#sweep();
    const entry: Entry = { key, value, expiresAt };
    this.#entries.set(key, entry);
    this.#push(entry);
  }

  /** Drops every entry whose expiry has passed; stale heap nodes (keys written again since) are skipped. */
  #sweep(): void {
    const now = this.#clock.now();
    const heap = this.#heap;
    while (heap.length > 0 && (heap[0] as HeapNode).expiresAt <= now) {
      const node = this.#pop();
      if (this.#entries.get(node.key) === node) this.#entries.delete(node.key);
    }
  }

  #push(node: HeapNode): void {
    const heap = this.#heap;
    heap.push(node);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as HeapNode).expiresAt <= node.expiresAt) break;
      heap[i] = heap[parent] as HeapNode;
      i = parent;
    }
    heap[i] = node;
  }

  #pop(): HeapNode {
    const heap = this.#heap;
    const top = heap[0] as HeapNode;
    const last = heap.pop() as HeapNode;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && (heap[right] as HeapNode).expiresAt < (heap[left] as HeapNode).expiresAt ? right : left;
        if ((heap[child] as HeapNode).expiresAt >= last.expiresAt) break;
        heap[i] = heap[child] as HeapNode;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
