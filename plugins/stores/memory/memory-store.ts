import { StoreFullError, StoreUnavailableError } from '../../../core/errors.js';
import type { BulkRevocation, Clock, CounterRoom, ExpiringIndex, IndexEntry, RecordHolder, SessionOwner, Store, TokenRecord } from '../../../core/ports.js';

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
 * A session's record as this store keeps it, for as long as the session lives: its own frozen
 * copy, so that nobody holding a record it handed out can change what it holds. Made by a class
 * rather than an object literal because V8 gives a class's objects room for the optional fields
 * set after the constructor, where a literal's go in a second allocation; and its strings are
 * flat copies (see `flat`). What a session keeps is paid for on every collection while it lives.
 */
class HeldRecord implements TokenRecord {
  readonly tokenId: string;
  readonly policyId: string;
  readonly scopes: readonly string[];
  readonly issuedAt: number;
  readonly expiresAt: number;
  declare readonly subject?: string;
  declare readonly credentialId?: string;
  declare readonly boundAddress?: string;
  declare readonly claims?: Readonly<Record<string, unknown>>;

  constructor(record: TokenRecord) {
    this.tokenId = flat(record.tokenId);
    this.policyId = record.policyId;
    this.scopes = Object.isFrozen(record.scopes) ? record.scopes : Object.freeze([...record.scopes]);
    this.issuedAt = record.issuedAt;
    this.expiresAt = record.expiresAt;
    const optional = this as { -readonly [K in keyof TokenRecord]: TokenRecord[K] };
    if (record.subject !== undefined) optional.subject = record.subject;
    if (record.credentialId !== undefined) optional.credentialId = record.credentialId;
    if (record.boundAddress !== undefined) optional.boundAddress = record.boundAddress;
    if (record.claims !== undefined) optional.claims = deepFreeze(record.claims);
    Object.freeze(this);
  }
}

const BEYOND_LATIN1 = /[\u0100-\uffff]/;

/**
 * Where `flat` copies through: one buffer for the store's life rather than a new one per copy.
 * Keys and token ids are short; a longer text gets a buffer of its own.
 */
const SCRATCH = Buffer.allocUnsafeSlow(256);

/**
 * A flat copy of `text`. V8 keeps a string made by joining pieces (a template, `+`, Node's
 * `randomUUID`) as a tree of its pieces until something reads it whole, and a key or token id
 * held for a session's life would keep the whole tree: several hundred bytes more per session.
 */
function flat(text: string): string {
  if (BEYOND_LATIN1.test(text)) return text;
  if (text.length > SCRATCH.length) return Buffer.from(text, 'latin1').toString('latin1');
  return SCRATCH.toString('latin1', 0, SCRATCH.write(text, 0, 'latin1'));
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const inner of Object.values(value)) deepFreeze(inner);
  return value;
}

/** A lockout counter (made by `increment`): held within `maxCounters`, never within `maxEntries`. */
class Counter extends Held {}

/** A deny-list entry: written whatever the store holds (see `MemoryStore`). */
class Denial extends Held {}

/**
 * A member of an index (`ExpiringIndex`), held in the map under a key no caller can write, so
 * that the expiry heap drops it as it drops any entry; removing it takes it out of its index.
 */
class Indexed extends Held {
  readonly index: string;
  readonly member: string;

  constructor(value: string, expiresAt: number, index: string, member: string) {
    super(value, expiresAt);
    this.index = index;
    this.member = member;
  }
}

/** Where an index member lives in the map: store keys never hold a NUL (the engine namespaces them as text). */
const indexedKey = (index: string, member: string): string => `\u0000${index}\u0000${member}`;

/** "Not before" stamps by name, kept together until `expiresAt`. */
class StampSet {
  readonly stamps = new Map<string, number>();
  expiresAt: number;

  constructor(expiresAt: number) {
    this.expiresAt = expiresAt;
  }
}

/** How many sessions (and other entries) the store holds at most, unless told otherwise. */
export const DEFAULT_MAX_ENTRIES = 500_000;

/** A small `maxEntries` (a test, a demo) still counts failures from this many subjects by default. */
const MIN_DEFAULT_COUNTERS = 1_000;

export interface MemoryStoreOptions {
  /**
   * Most sessions, single-use marks and other values held at once (default
   * {@link DEFAULT_MAX_ENTRIES}); a write that would hold one more is refused with `StoreFullError`.
   */
  readonly maxEntries?: number;
  /** Most lockout counters held at once; default a fifth of `maxEntries`, and at least 1,000. */
  readonly maxCounters?: number;
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
 * Token records are kept as objects (`RecordHolder`): no encoding on issue, no parsing on verify.
 *
 * Bounded: it holds at most `maxEntries` sessions and other values, and at most `maxCounters`
 * lockout counters; nothing is ever evicted to make room. A write that would hold one value more
 * is refused with `StoreFullError`, and room comes back as entries expire (each write first
 * sweeps what has expired). Lockout counters have their own bound so that a flood of sessions
 * never stops failures from being counted; the lockout guard asks `roomForCounters` before it
 * compares a secret, and `increment` itself never refuses (a failure already compared must be
 * counted), so the counter bound can be passed by the attempts in flight at that moment. The
 * deny list is never refused: only an admin revokes, and a revocation that did not hold would
 * leave a stolen token working.
 *
 * Atomicity: Node runs one callback at a time and no method `await`s between its read and its
 * write, so each method is atomic with respect to every other call.
 *
 * @example
 * ```ts
 * const store = new MemoryStore(new SystemClock(), { maxEntries: 100_000 });
 * await store.put('k', 'v', 60_000);
 * ```
 */
export class MemoryStore implements Store, RecordHolder, CounterRoom, ExpiringIndex, BulkRevocation {
  readonly #clock: Clock;
  readonly #entries = new Map<string, Slot>();
  /** The expiry heap: `#heapKeys[i]` expires at `#heapTimes[i]`. */
  #heapKeys: string[] = [];
  #heapTimes: number[] = [];
  readonly #maxEntries: number;
  readonly #maxCounters: number;
  /** How many of the entries are counters, deny-list entries and index members; the rest count against `maxEntries`. */
  #counters = 0;
  #denials = 0;
  #indexed = 0;
  /** Each index's members, by member, with the map key each is held under. */
  readonly #indexes = new Map<string, Map<string, string>>();
  #closed = false;
  /** Bulk revocation's "not before" stamp sets, by key. */
  readonly #stamps = new Map<string, StampSet>();

  constructor(clock: Clock, options: MemoryStoreOptions = {}) {
    this.#clock = clock;
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#maxCounters = options.maxCounters ?? Math.max(MIN_DEFAULT_COUNTERS, Math.ceil(this.#maxEntries / 5));
    for (const [name, value] of [['maxEntries', this.#maxEntries], ['maxCounters', this.#maxCounters]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`MemoryStore: ${name} must be a positive whole number, got ${value}`);
    }
  }

  /** Entries held, including expired ones not swept yet (at most those expired since the last write). */
  get size(): number {
    return this.#entries.size;
  }

  /** What the store holds now against its bounds (expired entries not swept yet included). */
  get usage(): { entries: number; maxEntries: number; counters: number; maxCounters: number; denied: number; indexed: number; expiryNodes: number } {
    return {
      entries: this.#entries.size - this.#counters - this.#denials - this.#indexed,
      maxEntries: this.#maxEntries,
      counters: this.#counters,
      maxCounters: this.#maxCounters,
      denied: this.#denials,
      indexed: this.#indexed,
      expiryNodes: this.#heapKeys.length,
    };
  }

  /** A put over a counter keeps it a counter: the lockout guard rewrites one to give its lock a lifetime. */
  async put(key: string, value: string, ttlMs: number): Promise<void> {
    const expiresAt = this.#clock.now() + ttlMs;
    const slot = this.#entries.get(key) instanceof Counter ? new Counter(value, expiresAt) : new Held(value, expiresAt);
    this.#hold(key, slot, expiresAt);
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
  async putRecord(key: string, record: TokenRecord, ttlMs: number): Promise<void> {
    const expiresAt = this.#clock.now() + ttlMs;
    const held = new HeldRecord(record);
    if (record.expiresAt <= expiresAt) this.#hold(flat(key), held, record.expiresAt);
    else this.#write(flat(key), held, expiresAt);
  }

  async getRecord(key: string): Promise<TokenRecord | undefined> {
    return recordOf(this.#live(key));
  }

  async consumeRecord(key: string): Promise<TokenRecord | undefined> {
    const record = recordOf(this.#live(key));
    if (record !== undefined) this.#remove(key);
    return record;
  }

  async delete(key: string): Promise<boolean> {
    this.#open();
    const existed = this.#live(key) !== undefined;
    this.#remove(key);
    return existed;
  }

  async consume(key: string): Promise<string | undefined> {
    const value = text(this.#live(key));
    if (value !== undefined) this.#remove(key);
    return value;
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; resetAt: number }> {
    const entry = this.#live(key);
    if (entry === undefined) {
      const resetAt = this.#clock.now() + windowMs;
      this.#hold(key, new Counter('1', resetAt), resetAt);
      return { count: 1, resetAt };
    }
    const count = (Number.parseInt(text(entry) ?? '', 10) || 0) + 1;
    if (entry instanceof Held) entry.value = String(count);
    else this.#write(key, String(count), entry.expiresAt);
    return { count, resetAt: entry.expiresAt };
  }

  /** Whether `count` new lockout counters fit now (expired ones are swept first). */
  async roomForCounters(count: number): Promise<boolean> {
    this.#open();
    this.#sweep();
    return this.#counters + count <= this.#maxCounters;
  }

  async deny(tokenId: string, expiresAt: number): Promise<void> {
    this.#hold(`deny:${tokenId}`, new Denial('1', expiresAt), expiresAt);
  }

  async isDenied(tokenId: string): Promise<boolean> {
    return this.#live(`deny:${tokenId}`) !== undefined;
  }

  /** Index members are held outside `maxEntries`, as counters are: the lockout guard adds one per lock. */
  async indexAdd(index: string, member: string, value: string, ttlMs: number): Promise<void> {
    const key = indexedKey(index, member);
    const expiresAt = this.#clock.now() + ttlMs;
    this.#hold(key, new Indexed(value, expiresAt, index, member), expiresAt);
    let members = this.#indexes.get(index);
    if (members === undefined) this.#indexes.set(index, (members = new Map()));
    members.set(member, key);
  }

  async indexList(index: string, limit: number): Promise<IndexEntry[]> {
    this.#open();
    const now = this.#clock.now();
    const live: Indexed[] = [];
    // Deleting from a Map while iterating it is defined: an expired member is dropped as it is read.
    for (const key of this.#indexes.get(index)?.values() ?? []) {
      const slot = this.#live(key);
      if (slot instanceof Indexed) live.push(slot);
    }
    live.sort((a, b) => a.expiresAt - b.expiresAt);
    return live.slice(0, Math.max(0, limit)).map((slot) => ({ member: slot.member, value: slot.value as string, ttlMs: slot.expiresAt - now }));
  }

  async indexRemove(index: string, member: string): Promise<boolean> {
    return this.delete(indexedKey(index, member));
  }

  /**
   * Finds the owner's sessions by reading the records it holds (no list is kept on issue, so a
   * session costs no more memory): one pass over every entry, in one step, which at the default
   * bound of 500,000 entries holds the event loop for some tens of milliseconds — for an
   * admin's call, rare by nature.
   */
  async revokeSessions(owner: SessionOwner): Promise<number> {
    this.#open();
    const now = this.#clock.now();
    const byCredential = 'credentialId' in owner;
    let deleted = 0;
    for (const [key, slot] of this.#entries) {
      const record = recordOf(slot);
      if (record === undefined || record.policyId !== owner.policyId || slot.expiresAt <= now) continue;
      const owned = byCredential ? record.credentialId === owner.credentialId : record.credentialId === undefined && record.subject === owner.subject;
      if (owned) {
        this.#remove(key);
        deleted++;
      }
    }
    return deleted;
  }

  async stampNotBefore(key: string, name: string, at: number, ttlMs: number): Promise<void> {
    this.#open();
    const now = this.#clock.now();
    let set = this.#stamps.get(key);
    if (set === undefined || set.expiresAt <= now) this.#stamps.set(key, (set = new StampSet(now + ttlMs)));
    set.expiresAt = Math.max(set.expiresAt, now + ttlMs);
    set.stamps.set(name, Math.max(set.stamps.get(name) ?? at, at));
  }

  async notBefore(key: string, names: readonly string[]): Promise<(number | undefined)[]> {
    this.#open();
    const set = this.#stamps.get(key);
    if (set === undefined) return names.map(() => undefined);
    if (set.expiresAt <= this.#clock.now()) {
      this.#stamps.delete(key);
      return names.map(() => undefined);
    }
    return names.map((name) => set.stamps.get(name));
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
    this.#counters = 0;
    this.#denials = 0;
    this.#indexed = 0;
    this.#indexes.clear();
    this.#stamps.clear();
  }

  #open(): void {
    if (this.#closed) throw new StoreUnavailableError('the memory store is closed');
  }

  #live(key: string): Slot | undefined {
    this.#open();
    const slot = this.#entries.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt > this.#clock.now()) return slot;
    this.#remove(key);
    return undefined;
  }

  #write(key: string, value: string | TokenRecord, expiresAt: number): void {
    this.#hold(key, new Held(value, expiresAt), expiresAt);
  }

  /**
   * Holds `slot` under `key` until `expiresAt`. A key not held yet must fit its kind's bound
   * (counters and deny-list entries excepted, see the class); a key held already is replaced.
   */
  #hold(key: string, slot: Slot, expiresAt: number): void {
    this.#open();
    this.#sweep();
    const previous = this.#entries.get(key);
    if (previous === undefined) {
      if (!(slot instanceof Counter || slot instanceof Denial || slot instanceof Indexed) && this.#entries.size - this.#counters - this.#denials - this.#indexed >= this.#maxEntries) {
        // Said to the caller: no figure of the bound (the start-up log line has it).
        throw new StoreFullError('the token store is full; try again later');
      }
    } else {
      this.#uncount(previous);
    }
    this.#entries.set(key, slot);
    if (slot instanceof Counter) this.#counters++;
    else if (slot instanceof Denial) this.#denials++;
    else if (slot instanceof Indexed) this.#indexed++;
    this.#push(key, expiresAt);
  }

  #remove(key: string): void {
    const slot = this.#entries.get(key);
    if (slot === undefined) return;
    this.#entries.delete(key);
    this.#uncount(slot);
  }

  #uncount(slot: Slot): void {
    if (slot instanceof Counter) this.#counters--;
    else if (slot instanceof Denial) this.#denials--;
    else if (slot instanceof Indexed) {
      this.#indexed--;
      this.#unindex(slot);
    }
  }

  #unindex(slot: Indexed): void {
    const members = this.#indexes.get(slot.index);
    members?.delete(slot.member);
    if (members?.size === 0) this.#indexes.delete(slot.index);
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
      if (slot !== undefined && slot.expiresAt <= now) this.#remove(key);
    }
  }

  /** Adds a node for `key`, which the map holds already. */
  #push(key: string, expiresAt: number): void {
    // Nodes left by deleted or rewritten keys wait for their time; when they outnumber the
    // entries, the heap is rebuilt from the entries (this key's included), so it too stays
    // within the store's bound.
    if (this.#heapKeys.length >= 2 * this.#entries.size + 1024) {
      this.#rebuildHeap();
      return;
    }
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

  /** The heap of the entries held now, one node each: sorted by expiry, which is a valid heap. */
  #rebuildHeap(): void {
    const nodes = Array.from(this.#entries, ([key, slot]) => ({ key, at: slot.expiresAt })).sort((a, b) => a.at - b.at);
    this.#heapKeys = nodes.map((node) => node.key);
    this.#heapTimes = nodes.map((node) => node.at);
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
