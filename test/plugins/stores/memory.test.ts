import 'reflect-metadata';
import { expect } from 'chai';
import { ManualClock } from '../../../core/clock.js';
import { assemble } from '../../../core/container.js';
import memoryModule, { DEFAULT_MAX_ENTRIES, MemoryStore, memoryStoreOptions } from '../../../plugins/stores/memory/index.js';
import { rejection } from '../../helpers/boot.js';
import { describeStoreContract } from '../../stores/store-contract.js';

describeStoreContract('memory', { create: async (clock) => new MemoryStore(clock), timeControl: 'manual' });

describe('plugins/stores/memory MemoryStore', () => {
  describe('having a stream of one-off keys', () => {
    it('frees expired entries: size stays bounded by the keys alive within one TTL', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock);
      let peak = 0;
      for (let i = 0; i < 200_000; i++) {
        await store.put(`one-off:${i}`, 'x', 1_000);
        clock.advance(10);
        peak = Math.max(peak, store.size);
      }
      // 1 s TTL, a write every 10 ms: at most ~100 alive (+1 written before the sweep of the next write).
      expect(peak).to.be.at.most(101);
      expect(store.size).to.be.at.most(101);
    });
  });

  describe('having a key overwritten with a longer TTL', () => {
    it('does not let the first write’s expiry delete the second value', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock);
      await store.put('k', 'short', 1_000);
      await store.put('k', 'long', 10_000);
      clock.advance(2_000);
      await store.put('other', 'x', 1_000); // sweeps the first write's heap node
      expect(await store.get('k')).to.equal('long');
      clock.advance(8_000);
      expect(await store.get('k')).to.equal(undefined);
    });
  });

  describe('holding token records', () => {
    const at = (clock: ManualClock, ms: number) => ({ tokenId: 'id-1', policyId: 'electa', scopes: [], issuedAt: clock.now(), expiresAt: clock.now() + ms });

    it('keeps the record (its own frozen copy) until its expiry, and forgets it then', async () => {
      const clock = new ManualClock(1_000);
      const store = new MemoryStore(clock);
      const record = at(clock, 60_000);
      await store.putRecord('electa:token:a', record, 60_000);
      clock.advance(59_999);
      expect(await store.getRecord('electa:token:a')).to.deep.equal(record);
      expect(await store.ttl('electa:token:a')).to.equal(1);
      clock.advance(1);
      expect(await store.getRecord('electa:token:a')).to.equal(undefined);
      expect(await store.get('electa:token:a')).to.equal(undefined);
    });

    it('forgets a record when its TTL ends before the record does', async () => {
      const clock = new ManualClock(1_000);
      const store = new MemoryStore(clock);
      await store.putRecord('k', at(clock, 60_000), 1_000);
      clock.advance(999);
      expect((await store.getRecord('k'))?.tokenId).to.equal('id-1');
      clock.advance(1);
      expect(await store.getRecord('k')).to.equal(undefined);
    });

    it('tells records from text: get does not return a record, getRecord not a text', async () => {
      const store = new MemoryStore(new ManualClock(0));
      await store.putRecord('r', { tokenId: 'id-2', policyId: 'melissa', scopes: ['pkg'], issuedAt: 0, expiresAt: 5_000 }, 5_000);
      await store.put('t', 'text', 5_000);
      expect(await store.get('r')).to.equal(undefined);
      expect(await store.getRecord('t')).to.equal(undefined);
      expect(await store.consume('r')).to.equal(undefined);
      expect((await store.getRecord('r'))?.tokenId).to.equal('id-2');
    });

    it('gives a record to exactly one of 100 concurrent consumeRecord calls', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock);
      await store.putRecord('k', at(clock, 5_000), 5_000);
      const got = await Promise.all(Array.from({ length: 100 }, () => store.consumeRecord('k')));
      expect(got.filter((r) => r !== undefined)).to.have.length(1);
      expect(await store.getRecord('k')).to.equal(undefined);
    });

    it('does not let an earlier expiry of a key delete the record written there since', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock);
      await store.putRecord('k', at(clock, 1_000), 1_000);
      const second = at(clock, 10_000);
      await store.putRecord('k', second, 10_000);
      clock.advance(2_000);
      await store.put('other', 'x', 1_000); // sweeps the first write's heap node
      expect(await store.getRecord('k')).to.deep.equal(second);
    });

    it('forgets records in expiry order whatever order they were written in, and frees them', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock, { maxEntries: 501 });
      const ttls = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 500) + 1); // 1…500, shuffled
      for (const [i, ttl] of ttls.entries()) await store.putRecord(`k${i}`, at(clock, ttl), ttl);
      for (let t = 1; t <= 500; t += 37) {
        clock.advance(t - clock.now());
        for (const [i, ttl] of ttls.entries()) {
          const held = await store.getRecord(`k${i}`);
          expect(held?.tokenId, `k${i} (ttl ${ttl} ms) at ${t} ms`).to.equal(ttl > t ? 'id-1' : undefined);
        }
      }
      // What expired is freed: the store has room for a full load of new sessions.
      clock.advance(500);
      for (let i = 0; i < 500; i++) await store.putRecord(`new${i}`, at(clock, 1_000), 1_000);
    });
  });

  describe('having a bound (maxEntries, maxCounters)', () => {
    const record = (clock: ManualClock, id: string, ms: number) => ({ tokenId: id, policyId: 'melissa', scopes: [], issuedAt: clock.now(), expiresAt: clock.now() + ms });

    it('refuses a new session, value or single-use mark at maxEntries with ERR_STORE_FULL, and evicts nothing', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock, { maxEntries: 3 });
      store.putRecord('s1', record(clock, 'a', 60_000), 60_000);
      await store.put('v1', 'x', 60_000);
      expect(await store.putIfAbsent('u1', '1', 60_000)).to.equal(true);
      const full = [
        await rejection(async () => store.putRecord('s2', record(clock, 'b', 60_000), 60_000)),
        await rejection(() => store.put('v2', 'x', 60_000)),
        await rejection(() => store.putIfAbsent('u2', '1', 60_000)),
      ];
      for (const err of full) {
        expect(err.code).to.equal('ERR_STORE_FULL');
        expect(err.message).to.equal('the token store is full; try again later');
      }
      expect((await store.getRecord('s1'))?.tokenId).to.equal('a');
      expect(await store.get('v1')).to.equal('x');
      expect(store.usage).to.include({ entries: 3, maxEntries: 3 });
      // Rewriting a key it holds takes no room; deleting one makes room.
      await store.put('v1', 'y', 60_000);
      expect(await store.consume('v1')).to.equal('y');
      await store.put('v2', 'x', 60_000);
      expect(await store.get('v2')).to.equal('x');
    });

    it('recovers when held entries expire: the next write sweeps them (injected clock)', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock, { maxEntries: 2 });
      store.putRecord('s1', record(clock, 'a', 60_000), 60_000);
      store.putRecord('s2', record(clock, 'b', 120_000), 120_000);
      clock.advance(59_999);
      expect((await rejection(async () => store.putRecord('s3', record(clock, 'c', 60_000), 60_000))).code).to.equal('ERR_STORE_FULL');
      clock.advance(1);
      store.putRecord('s3', record(clock, 'c', 60_000), 60_000);
      expect(store.usage.entries).to.equal(2);
      expect(await store.getRecord('s1')).to.equal(undefined);
      expect((await store.getRecord('s2'))?.tokenId).to.equal('b');
    });

    it('keeps counting lockout failures and setting locks when sessions fill it', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock, { maxEntries: 1, maxCounters: 10 });
      store.putRecord('s1', record(clock, 'a', 60_000), 60_000);
      for (let i = 1; i <= 5; i++) expect((await store.increment('p:lockout:a:10.0.0.1', 60_000)).count).to.equal(i);
      await store.put('p:lockout:a:10.0.0.1', '5', 900_000); // the lock: a put over a counter stays a counter
      expect(await store.ttl('p:lockout:a:10.0.0.1')).to.equal(900_000);
      expect(store.usage).to.include({ entries: 1, counters: 1 });
      expect(await store.roomForCounters(9)).to.equal(true);
      expect(await store.roomForCounters(10)).to.equal(false);
    });

    it('says when counters have no room, never refuses an increment, and has room again when they expire', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock, { maxEntries: 10, maxCounters: 2 });
      await store.increment('c1', 60_000);
      await store.increment('c2', 120_000);
      expect(await store.roomForCounters(1)).to.equal(false);
      // A failure already compared must be counted: past the bound, increment still counts.
      expect((await store.increment('c3', 60_000)).count).to.equal(1);
      expect(store.usage.counters).to.equal(3);
      clock.advance(60_000);
      expect(await store.roomForCounters(1)).to.equal(true);
      expect(store.usage.counters).to.equal(1);
    });

    it('takes a revocation (deny list) whatever it holds', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock, { maxEntries: 1, maxCounters: 1 });
      await store.put('v', 'x', 60_000);
      await store.increment('c', 60_000);
      await store.deny('emalidate:jti-1', 60_000);
      expect(await store.isDenied('emalidate:jti-1')).to.equal(true);
      expect(store.usage).to.include({ entries: 1, counters: 1, denied: 1 });
      clock.advance(60_000);
      expect(await store.isDenied('emalidate:jti-1')).to.equal(false);
    });

    it('holds index members outside maxEntries, and frees them (and their index) as they expire or are removed', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock, { maxEntries: 1 });
      await store.put('v', 'x', 60_000);
      await store.indexAdd('p:lockouts', 'a', '1', 30_000);
      await store.indexAdd('p:lockouts', 'b', '2', 60_000);
      expect(store.usage).to.include({ entries: 1, indexed: 2 });
      expect(await store.indexRemove('p:lockouts', 'b')).to.equal(true);
      expect(store.usage).to.include({ indexed: 1 });
      clock.advance(30_000);
      await store.put('v', 'y', 60_000); // a write sweeps what expired
      expect(store.usage).to.include({ entries: 1, indexed: 0 });
      expect(store.size).to.equal(1);
      expect(await store.indexList('p:lockouts', 10)).to.deep.equal([]);
    });

    it('keeps its expiry heap within a multiple of what it holds when sessions are used up (single use) or revoked', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock, { maxEntries: 10 });
      for (let i = 0; i < 20_000; i++) {
        await store.putRecord(`s${i}`, record(clock, `t${i}`, 3_600_000), 3_600_000);
        expect((await store.consumeRecord(`s${i}`))?.tokenId).to.equal(`t${i}`);
      }
      expect(store.usage.expiryNodes).to.be.at.most(2 * store.size + 1024);
      // The rebuilt heap still sweeps in expiry order.
      await store.putRecord('late', record(clock, 'late', 2_000), 2_000);
      await store.putRecord('early', record(clock, 'early', 1_000), 1_000);
      clock.advance(1_000);
      await store.put('tick', 'x', 60_000);
      expect(store.size).to.equal(2);
    });

    it('holds 500,000 sessions by default, and a fifth as many counters (at least 1,000)', () => {
      expect(DEFAULT_MAX_ENTRIES).to.equal(500_000);
      expect(new MemoryStore(new ManualClock(0)).usage).to.include({ maxEntries: 500_000, maxCounters: 100_000 });
      expect(new MemoryStore(new ManualClock(0), { maxEntries: 10 }).usage).to.include({ maxEntries: 10, maxCounters: 1_000 });
    });
  });

  describe('memoryStoreOptions (the --store value)', () => {
    it('reads memory, memory: and memory:?maxEntries=N&maxCounters=M', () => {
      expect(memoryStoreOptions('memory')).to.deep.equal({});
      expect(memoryStoreOptions('memory:')).to.deep.equal({});
      expect(memoryStoreOptions('memory:?maxEntries=100000')).to.deep.equal({ maxEntries: 100_000 });
      expect(memoryStoreOptions('memory:?maxEntries=20&maxCounters=7')).to.deep.equal({ maxEntries: 20, maxCounters: 7 });
    });
    it('refuses what it cannot use with ERR_STORE_OPTIONS, naming the setting', () => {
      const cases: [string, string][] = [
        ['memory:?maxEntries=0', 'memory store: maxEntries must be given once, as a whole number from 1 to 100000000, got "0"'],
        ['memory:?maxEntries=1e6', 'memory store: maxEntries must be given once, as a whole number from 1 to 100000000, got "1e6"'],
        ['memory:?maxEntries=100000001', 'memory store: maxEntries must be given once, as a whole number from 1 to 100000000, got "100000001"'],
        ['memory:?maxEntries=5&maxEntries=6', 'memory store: maxEntries must be given once, as a whole number from 1 to 100000000, got "5,6"'],
        ['memory:?maxSessions=5', 'memory store: unknown parameter "maxSessions"; known: maxEntries, maxCounters'],
        ['memory:/tmp/x', 'memory store: expected "memory" or "memory:?maxEntries=N", got "memory:/tmp/x"'],
      ];
      for (const [url, message] of cases) {
        let caught: (Error & { code?: string }) | undefined;
        try {
          memoryStoreOptions(url);
        } catch (err) {
          caught = err as Error & { code?: string };
        }
        expect([caught?.code, caught?.message], url).to.deep.equal(['ERR_STORE_OPTIONS', message]);
      }
    });
  });

  describe('as the --store value names it', () => {
    it('is the store of --store memory and memory:?maxEntries=N, on the injected clock', async () => {
      const clock = new ManualClock(0);
      const { store } = await assemble({ modules: [memoryModule], store: 'memory', clock });
      const { store: bounded } = await assemble({ modules: [memoryModule], store: 'memory:?maxEntries=7', clock });
      expect(store).to.be.instanceOf(MemoryStore);
      expect((bounded as MemoryStore).usage.maxEntries).to.equal(7);
      await store.put('k', 'v', 5);
      clock.advance(5);
      expect(await store.get('k')).to.equal(undefined);
    });
  });
});
