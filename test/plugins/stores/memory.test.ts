import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { Container } from 'inversify';
import { ManualClock } from '../../../core/clock.js';
import { TYPES } from '../../../core/ids.js';
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
    it('keeps a Melissa or Electa session in well under 600 bytes of heap', function () {
      this.timeout(30_000);
      // In a child with --expose-gc, so that the heap is measured after full collections. Each session
      // was ~900 bytes while token ids and keys were kept as chains of V8 "cons" strings; now ~400.
      const out = execFileSync(process.execPath, ['--expose-gc', 'test/fixtures/session-footprint.mjs', `${process.cwd()}/dist`, '20000'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const held = JSON.parse(out) as Record<string, number>;
      expect(Object.keys(held)).to.deep.equal(['melissa', 'electa']);
      for (const [policy, bytes] of Object.entries(held)) expect(bytes, policy).to.be.within(50, 600);
    });
  });
});
