import { expect } from 'chai';
import { ManualClock } from '../../../core/clock.js';
import { tokenRequestFrom } from '../../../core/request.js';
import { RedisStore } from '../../../plugins/stores/redis/index.js';
import { createApp } from '../../../server/app.js';
import { boot, type Booted } from '../../../server/bootstrap.js';
import { T0 } from '../../helpers/boot.js';
import { listen } from '../../helpers/http.js';
import { nodeClient, startSentinelSet, until, type SentinelSet } from '../../helpers/redis-topology.js';

const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: 'sentinel-appkey-0123456789', MELISSA_LICENSE: 'sentinel-licence-0123' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A crashed primary under Sentinel, on real servers: a primary, two replicas and two sentinels
 * on loopback. Two hosts issue sessions and count failed attempts while the primary is killed
 * with SIGKILL; Sentinel promotes a replica, and the hosts carry on without a restart.
 */
describe('plugins/stores/redis under Sentinel: a primary killed under load (real redis-server and redis-sentinel)', function () {
  this.timeout(60_000);
  let set: SentinelSet;
  before(async () => {
    set = await startSentinelSet();
  });
  after(async () => {
    await set?.dispose();
  });

  it('reads and writes through the primary the sentinels name', async () => {
    const store = new RedisStore(set.url, { prefix: 'plain:' });
    try {
      await until(() => store.ready(), 10_000, 'the store ready');
      await store.put('k', 'v', 60_000);
      const primary = nodeClient(await set.currentPrimary());
      expect(await primary.get('plain:k')).to.equal('v');
      primary.disconnect();
    } finally {
      await store.close();
    }
  });

  it('with ?wait=1: fails closed and says not ready during the outage, then every token it issued verifies and no acknowledged count is lost', async () => {
    const url = `${set.url}?wait=1&waitTimeoutMs=500`;
    const hosts: Booted[] = [];
    for (let i = 0; i < 2; i++) hosts.push(await boot({ policies: ['policies/electa.yaml'], store: url, env: ENV, clock: new ManualClock(T0) }));
    const stores = hosts.map((h) => h.store as RedisStore);
    const http = await listen(createApp({ engine: (hosts[0] as Booted).engine }));
    try {
      await until(async () => (await Promise.all(stores.map((s) => s.ready()))).every(Boolean), 10_000, 'both hosts ready');
      const oldPrimary = await set.currentPrimary();
      expect(oldPrimary).to.equal(set.primary.port);

      const issued: string[] = [];
      const refusals = new Map<string, number>();
      let counted = 0;
      let uncounted = 0;
      let lastError = '';
      let stop = false;
      // Bounded load: two workers per host, at most 3,000 rounds each, paced so the outage is seen.
      const worker = async (host: Booted) => {
        for (let round = 0; round < 3_000 && !stop; round++) {
          try {
            issued.push((await host.engine.issue('electa', tokenRequestFrom({ CID: '42', AppKey: ENV.ELECTA_APPKEY }, '10.0.0.1'))).token);
          } catch (err) {
            const code = (err as { code?: string }).code ?? String(err);
            refusals.set(code, (refusals.get(code) ?? 0) + 1);
          }
          try {
            await host.store.increment('electa:failover-counter', 600_000);
            counted++;
          } catch (err) {
            // The store's own error (the engine turns it into ERR_STORE_UNAVAILABLE for a caller).
            uncounted++;
            lastError = String((err as Error).message);
          }
          await sleep(5);
        }
      };
      const load = Promise.all(hosts.flatMap((h) => [worker(h), worker(h)]));
      try {
        await until(async () => issued.length >= 40, 10_000, '40 sessions before the crash');
        await set.primary.kill();
        const issuedAtCrash = issued.length;

        // During the outage the hosts say not ready and refuse (fail closed), before Sentinel acts.
        let notReady = 0;
        await until(async () => {
          const res = await fetch(`${http.url}/readyz`);
          if (res.status === 503) notReady++;
          return res.status === 503 && JSON.stringify(await res.json()) === JSON.stringify({ status: 'not ready', store: 'unavailable' });
        }, 5_000, '/readyz to say not ready');
        expect(notReady).to.be.above(0);

        await until(async () => (await set.currentPrimary()) !== oldPrimary, 20_000, 'Sentinel to promote a replica');
        // The hosts reconnect by themselves: new sessions are issued after the switch.
        await until(async () => issued.length >= issuedAtCrash + 40, 20_000, '40 sessions after the failover').catch(async (err: Error) => {
          throw new Error(`${err.message}; refused: ${JSON.stringify([...refusals])}; last store error: ${lastError}\n${await set.describe()}`);
        });
        await until(async () => (await fetch(`${http.url}/readyz`)).status === 200, 10_000, '/readyz ready again');
      } finally {
        stop = true;
        await load;
      }

      for (const code of refusals.keys()) {
        expect(code, 'every refusal during the outage is the documented 503').to.equal('ERR_STORE_UNAVAILABLE');
      }
      expect(refusals.size, 'the outage was met').to.be.above(0);
      expect(uncounted, 'the outage was met by the counter too').to.be.above(0);

      // A healthy store after the failover: a fresh host on the same sentinels verifies every
      // token the others reported issued, and holds every count they reported counted.
      const checker = await boot({ policies: ['policies/electa.yaml'], store: set.url, env: ENV, clock: new ManualClock(T0) });
      try {
        await until(() => (checker.store as RedisStore).ready(), 10_000, 'the checking host ready');
        const lost: string[] = [];
        for (const token of issued) {
          await checker.engine.verify('electa', token, tokenRequestFrom({ CID: '42' }, '10.0.0.1'), { credentialId: '42' }).catch(() => lost.push(token));
        }
        expect(lost, `of ${issued.length} issued sessions, none lost`).to.deep.equal([]);
        const count = Number(await checker.store.get('electa:failover-counter'));
        expect(count, 'the counter holds every acknowledged increment (it may hold more: an increment refused after it reached the primary)').to.be.at.least(counted);
      } finally {
        await checker.store.close();
      }
    } finally {
      await http.close();
      for (const h of hosts) await h.store.close();
    }
  });
});
