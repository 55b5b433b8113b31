import { expect } from 'chai';
import type { Clock } from '../../../core/ports.js';
import { RedisStore } from '../../../plugins/stores/redis/index.js';
import { describeStoreContract } from '../../stores/store-contract.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';

describe('plugins/stores/redis RedisStore (real redis-server on loopback)', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let n = 0;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.dispose();
  });

  /** Each test gets its own prefix, so tests never see each other's keys; time from the test's clock. */
  const fresh = async (clock?: Clock) => {
    const store = new RedisStore(redis.url, { prefix: `test${++n}:`, ...(clock === undefined ? {} : { clock }) });
    for (let i = 0; i < 50 && !(await store.ready()); i++) await new Promise((r) => setTimeout(r, 20));
    return store;
  };

  describeStoreContract('redis', { create: (clock) => fresh(clock), timeControl: 'real' });

  describe('readiness and failure', () => {
    it('is ready while Redis answers; calls fail fast while it is down; it recovers without a new store', async () => {
      const store = await fresh();
      await store.put('k', 'v', 60_000);
      expect(await store.ready()).to.equal(true);
      await redis.stop();
      const started = Date.now();
      let failed = false;
      try {
        await store.get('k');
      } catch {
        failed = true;
      }
      expect(failed).to.equal(true);
      expect(Date.now() - started).to.be.below(1_000);
      expect(await store.ready()).to.equal(false);
      await redis.start();
      let value: string | undefined;
      for (let i = 0; i < 100 && value === undefined; i++) {
        await new Promise((r) => setTimeout(r, 50));
        value = await store.get('k').catch(() => undefined);
      }
      expect(value, 'the value survives a Redis restart (AOF) and the store reconnects').to.equal('v');
      expect(await store.ready()).to.equal(true);
      await store.close();
    });
    it('with ?wait=1 and no replica to acknowledge, refuses each write with ERR_STORE_UNAVAILABLE, never reporting it done', async () => {
      const store = new RedisStore(`${redis.url}?wait=1&waitTimeoutMs=20`, { prefix: `wait${++n}:` });
      for (let i = 0; i < 50 && !(await store.ready()); i++) await new Promise((r) => setTimeout(r, 20));
      const writes: [string, () => Promise<unknown>][] = [
        ['put', () => store.put('k', 'v', 60_000)],
        ['putIfAbsent', () => store.putIfAbsent('k2', 'v', 60_000)],
        ['increment', () => store.increment('c', 60_000)],
        ['deny', () => store.deny('p:jti', Date.now() + 60_000)],
        ['consume', () => store.consume('k')],
        ['delete', () => store.delete('k')],
        // A lock's listing, a session's owner list and a bulk revocation's stamp: a revocation lost
        // in a failover would let the tokens it revoked work again.
        ['indexAdd', () => store.indexAdd('locks', 'm', '{}', 60_000)],
        ['indexRemove', () => store.indexRemove('locks', 'm')],
        ['indexSession', () => store.indexSession({ policyId: 'p', credentialId: 'c1' }, 'p:token:x', Date.now() + 60_000)],
        ['revokeSessions', () => store.revokeSessions({ policyId: 'p', credentialId: 'c1' })],
        ['stampNotBefore', () => store.stampNotBefore('{p}:not-before', 'credential:c1', Date.now(), 60_000)],
      ];
      for (const [name, write] of writes) {
        const error = await write().then(() => undefined, (err: { code?: string; message?: string }) => err);
        expect(error?.code, name).to.equal('ERR_STORE_UNAVAILABLE');
        expect(error?.message, name).to.include('0 of the 1 replicas');
      }
      // The primary may still hold what was refused: a count can end higher than reported, never lower.
      expect(await store.get('c')).to.equal('1');
      await store.close();
    });
    it('namespaces keys with its prefix', async () => {
      const a = new RedisStore(redis.url, { prefix: 'a:' });
      const b = new RedisStore(redis.url, { prefix: 'b:' });
      for (let i = 0; i < 50 && !(await a.ready() && await b.ready()); i++) await new Promise((r) => setTimeout(r, 20));
      await a.put('same', '1', 60_000);
      expect(await b.get('same')).to.equal(undefined);
      expect(await a.get('same')).to.equal('1');
      await a.close();
      await b.close();
    });
  });
});
