import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { Container } from 'inversify';
import { ManualClock } from '../../../core/clock.js';
import { TYPES } from '../../../core/ids.js';
import { HeldRecord } from '../../../core/record.js';
import type { StoreFactory } from '../../../core/ports.js';
import memoryModule, { MemoryStore } from '../../../plugins/stores/memory/index.js';
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
    const at = (clock: ManualClock, ms: number) => new HeldRecord('id-1', 'electa', [], clock.now(), clock.now() + ms);

    it('keeps the record object itself until its expiry, and forgets it then', async () => {
      const clock = new ManualClock(1_000);
      const store = new MemoryStore(clock);
      const record = at(clock, 60_000);
      await store.putRecord('electa:token:a', record, 60_000);
      clock.advance(59_999);
      expect(await store.getRecord('electa:token:a')).to.equal(record);
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
      await store.putRecord('r', new HeldRecord('id-2', 'melissa', ['pkg'], 0, 5_000), 5_000);
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
      expect(await store.getRecord('k')).to.equal(second);
      expect(store.size).to.equal(2);
    });

    it('sweeps records in expiry order whatever order they were written in', async () => {
      const clock = new ManualClock(0);
      const store = new MemoryStore(clock);
      const ttls = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 500) + 1); // 1…500, shuffled
      for (const [i, ttl] of ttls.entries()) await store.putRecord(`k${i}`, at(clock, ttl), ttl);
      for (let t = 1; t <= 500; t++) {
        clock.advance(1);
        await store.put('tick', 'x', 1_000); // each write sweeps what has expired
        expect(store.size, `at ${t} ms`).to.equal(500 - t + 1);
      }
    });
  });

  describe('container module', () => {
    it('binds a store factory named memory', async () => {
      const container = new Container();
      container.load(memoryModule);
      const factory = container.get<StoreFactory>(TYPES.StoreFactory, { name: 'memory' });
      const clock = new ManualClock(0);
      const store = factory('memory', { clock });
      expect(store).to.be.instanceOf(MemoryStore);
      await store.put('k', 'v', 5);
      clock.advance(5);
      expect(await store.get('k')).to.equal(undefined);
    });
  });

  describe('holding sessions', () => {
    it('keeps a Melissa or Electa session in under 400 bytes of heap', function () {
      this.timeout(30_000);
      // In a child with --expose-gc, so that the heap is measured after full collections. Each session
      // was ~900 bytes while token ids and keys were kept as chains of V8 "cons" strings, then ~400
      // (Melissa 434) with a wrapper object a key and a property array a record; now ~280–340.
      const out = execFileSync(process.execPath, ['--expose-gc', 'test/fixtures/session-footprint.mjs', `${process.cwd()}/dist`, '20000'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const held = JSON.parse(out) as Record<string, number>;
      expect(Object.keys(held)).to.deep.equal(['melissa', 'electa']);
      for (const [policy, bytes] of Object.entries(held)) expect(bytes, policy).to.be.within(50, 400);
    });
  });
});
