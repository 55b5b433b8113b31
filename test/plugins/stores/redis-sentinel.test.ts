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

  it('signs in as an ACL user on the servers and as another on the sentinels; not ready with a wrong password or without the sentinels’ credentials', async () => {
    // Users limited to what they may do: the servers' user to keys under acl:, the sentinels'
    // to what a client asks of a sentinel. The default users stay open for the other tests.
    const primaryPort = await set.currentPrimary(); // asked before the sentinels want a sign-in
    const servers = [set.primary, ...set.replicas].map((s) => nodeClient(s.port));
    const sentinels = set.sentinels.map((s) => nodeClient(s.port));
    try {
      for (const server of servers) await server.call('ACL', 'SETUSER', 'tsapp', 'on', '>app-pass-0123', '~acl:*', '+@all');
      for (const sentinel of sentinels) await sentinel.call('ACL', 'SETUSER', 'tsview', 'on', '>sentinel-pass-0123', '+@all');
      // The sentinels' default user off for new connections: only a client that signs in reaches them
      // (their links to each other, made already, stay; the user comes back on below).
      for (const sentinel of sentinels) await sentinel.call('ACL', 'SETUSER', 'default', 'off');
      const [first, second] = set.url.replace('redis+sentinel://', '').split('/')[0]?.split(',') ?? [];
      const url = (password: string, prefix: string) =>
        `redis+sentinel://tsapp:${password}@${first},${second}/mymaster?prefix=${prefix}&sentinelUsername=tsview&sentinelPassword=sentinel-pass-0123`;

      const store = new RedisStore(url('app-pass-0123', 'acl:'));
      try {
        await until(() => store.ready(), 10_000, 'the store ready with ACL users');
        await store.put('k', 'v', 60_000);
        expect(await store.get('k')).to.equal('v');
        const primary = nodeClient(primaryPort);
        expect(await primary.get('acl:k')).to.equal('v');
        primary.disconnect();
      } finally {
        await store.close();
      }

      // A key outside the user's pattern is refused by the server: the store writes as tsapp.
      const outside = new RedisStore(url('app-pass-0123', 'other:'));
      try {
        await until(() => outside.ready(), 10_000, 'the second store connected');
        // (The engine's fail-closed wrapper turns this into ERR_STORE_UNAVAILABLE; the store passes Redis's refusal on.)
        const error = await outside.put('k', 'v', 60_000).then(() => undefined, (err: Error) => err);
        expect(error?.message).to.match(/^NOPERM/);
      } finally {
        await outside.close();
      }

      // A wrong server password, or no sentinel credentials: never ready.
      const unsigned = url('app-pass-0123', 'acl:').replace(/&sentinelUsername=.*$/, '');
      for (const refused of [url('wrong-pass', 'acl:'), unsigned]) {
        const store = new RedisStore(refused);
        try {
          await sleep(500);
          expect(await store.ready(), refused.replace(/:[^:@/]*@/, ':***@')).to.equal(false);
        } finally {
          await store.close();
        }
      }
    } finally {
      for (const sentinel of sentinels) await sentinel.call('ACL', 'SETUSER', 'default', 'on').catch(() => {});
      for (const server of servers) await server.call('ACL', 'DELUSER', 'tsapp').catch(() => {});
      for (const sentinel of sentinels) await sentinel.call('ACL', 'DELUSER', 'tsview').catch(() => {});
      // The failover test after this one needs the two sentinels in touch again.
      await until(async () => {
        const views = await Promise.all(sentinels.map((s) => s.call('SENTINEL', 'SENTINELS', 'mymaster') as Promise<string[][]>));
        return views.every((peers) => peers.length === 1 && !String(peers[0]?.[(peers[0]?.indexOf('flags') ?? 0) + 1]).includes('down'));
      }, 15_000, 'the sentinels in touch again');
      for (const client of [...servers, ...sentinels]) client.disconnect();
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
