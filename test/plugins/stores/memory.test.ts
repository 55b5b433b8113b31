import 'reflect-metadata';
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
});
