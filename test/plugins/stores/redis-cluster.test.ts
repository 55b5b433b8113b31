import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { ManualClock } from '../../../core/clock.js';
import type { Clock, Store } from '../../../core/ports.js';
import { tokenRequestFrom } from '../../../core/request.js';
import { RedisStore } from '../../../plugins/stores/redis/index.js';
import { boot, type Booted } from '../../../server/bootstrap.js';
import { T0 } from '../../helpers/boot.js';
import { nodeClient, startCluster, until, type RedisCluster } from '../../helpers/redis-topology.js';
import { describeStoreContract } from '../../stores/store-contract.js';

const ELECTA = { ELECTA_CID: '42', ELECTA_APPKEY: 'cluster-appkey-0123456789', MELISSA_LICENSE: 'cluster-licence-0123' };

/**
 * Fails the test on any `CROSSSLOT` error a store call meets, even one that a test's own
 * expectations would swallow (a `catch` that counts failures): every method of the store, run
 * by the whole contract suite, must touch one hash slot per command.
 */
function watchingSlots(store: RedisStore, seen: string[]): Store {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) {
          return result.catch((err: unknown) => {
            if (/CROSSSLOT/.test(String((err as Error)?.message))) seen.push(`${String(name)}: ${(err as Error).message}`);
            throw err;
          });
        }
        return result;
      };
    },
  });
}

describe('plugins/stores/redis on a real 3-primary Redis Cluster (loopback)', function () {
  this.timeout(60_000);
  let cluster: RedisCluster;
  let n = 0;
  const crossSlot: string[] = [];
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.dispose();
  });

  /** A store on the cluster with its own prefix per test, ready before it is handed out. */
  const fresh = async (clock?: Clock, prefix = `c${++n}:`) => {
    const store = new RedisStore(cluster.url, { prefix, ...(clock === undefined ? {} : { clock }) });
    await until(() => store.ready(), 10_000, 'the cluster store ready');
    return store;
  };

  describe('the whole store contract', () => {
    describeStoreContract('redis cluster', { create: async (clock) => watchingSlots(await fresh(clock), crossSlot), timeControl: 'real' });
    // A sibling suite declared after the contract runs after it (mocha runs child suites in order).
    describe('then', () => {
      it('met no CROSSSLOT error in any store method', () => {
        expect(crossSlot).to.deep.equal([]);
      });
    });
  });

  it("spreads one policy's sessions over every primary (keys are hashed whole, not by policy)", async () => {
    const clock = new ManualClock(T0);
    const h = await boot({ policies: ['policies/electa.yaml'], store: cluster.url, env: ELECTA, clock });
    try {
      await until(async () => (h.store as RedisStore).ready(), 10_000, 'ready');
      for (let i = 0; i < 60; i++) await h.engine.issue('electa', tokenRequestFrom({ CID: '42', AppKey: ELECTA.ELECTA_APPKEY }, '10.0.0.1'));
      const counts = await Promise.all(
        cluster.ports.map(async (port) => {
          const client = nodeClient(port);
          try {
            return (await client.keys('tokensmith:electa:*')).length;
          } finally {
            client.disconnect();
          }
        }),
      );
      expect(counts.reduce((a, b) => a + b)).to.equal(60);
      for (const count of counts) expect(count, `sessions per primary: ${counts.join(', ')}`).to.be.above(0);
    } finally {
      await h.store.close();
    }
  });

  describe('two hosts on the cluster', () => {
    let a: Booted;
    let b: Booted;
    before(async () => {
      const prefix = `twohosts${++n}:`;
      process.env['TOKENSMITH_REDIS_PREFIX'] = prefix;
      try {
        a = await boot({ policies: ['policies/electa.yaml'], store: cluster.url, env: ELECTA, clock: new ManualClock(T0) });
        b = await boot({ policies: ['policies/electa.yaml'], store: cluster.url, env: ELECTA, clock: new ManualClock(T0) });
      } finally {
        delete process.env['TOKENSMITH_REDIS_PREFIX'];
      }
      await until(async () => (await (a.store as RedisStore).ready()) && (b.store as RedisStore).ready(), 10_000, 'both hosts ready');
    });
    after(async () => {
      await a?.store.close();
      await b?.store.close();
    });

    it('verify on one host a session the other issued', async () => {
      const { token } = await a.engine.issue('electa', tokenRequestFrom({ CID: '42', AppKey: ELECTA.ELECTA_APPKEY }, '10.0.0.1'));
      const record = await b.engine.verify('electa', token, tokenRequestFrom({ CID: '42' }, '10.0.0.1'), { credentialId: '42' });
      expect(record).to.include({ policyId: 'electa', credentialId: '42' });
    });

    it('count exactly the threshold over 100 concurrent wrong attempts spread over both', async () => {
      const outcomes = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          (i % 2 ? a : b).engine.issue('electa', tokenRequestFrom({ CID: '42', AppKey: 'wrong-key' }, '10.0.0.1')).then(
            () => 'issued',
            (err: { code?: string }) => err.code ?? 'no code',
          ),
        ),
      );
      const tally = outcomes.reduce<Record<string, number>>((t, code) => ({ ...t, [code]: (t[code] ?? 0) + 1 }), {});
      expect(tally).to.deep.equal({ ERR_CREDENTIAL_INVALID: 5, ERR_LOCKED_OUT: 95 });
      const right = await b.engine.issue('electa', tokenRequestFrom({ CID: '42', AppKey: ELECTA.ELECTA_APPKEY }, '10.0.0.1')).catch((err: { code?: string }) => err.code);
      expect(right, 'the right key is locked out too, on either host').to.equal('ERR_LOCKED_OUT');
    });
  });

  it('loses no request while a slot moves between primaries (MOVED and ASK followed)', async function () {
    const store = await fresh(undefined, 'reshard:');
    const admin = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    admin.on('error', () => {});
    try {
      // Keys with one hash tag live in one slot: the slot this test moves, chosen by the tag.
      const key = (i: number) => `{moving}:${i}`;
      const slot = Number(await admin.cluster('KEYSLOT', `reshard:${key(0)}`));
      const owner = async () => {
        const ranges = (await admin.cluster('SLOTS')) as unknown as [number, number, [string, number, string]][];
        const range = ranges.find(([from, to]) => from <= slot && slot <= to) as [number, number, [string, number, string]];
        return { port: range[2][1], id: range[2][2] };
      };
      const source = await owner();
      const targetPort = cluster.ports.find((p) => p !== source.port) as number;
      const sourceClient = nodeClient(source.port);
      const targetClient = nodeClient(targetPort);
      const targetId = (await targetClient.cluster('MYID')) as string;

      for (let i = 0; i < 200; i++) await store.put(key(i), `v${i}`, 60_000);
      let stop = false;
      const errors: string[] = [];
      let done = 0;
      // Bounded load: at most 4 workers × 2,000 rounds; it stops once requests ran after the move.
      const worker = async (w: number) => {
        for (let round = 0; round < 2_000 && !stop; round++) {
          const i = (round * 4 + w) % 200;
          try {
            expect(await store.get(key(i))).to.equal(`v${i}`);
            await store.increment(`{moving}:counter`, 60_000);
            done++;
          } catch (err) {
            errors.push(String((err as Error).message));
          }
        }
      };
      const load = Promise.all([0, 1, 2, 3].map(worker));
      await targetClient.cluster('SETSLOT', slot, 'IMPORTING', source.id);
      await sourceClient.cluster('SETSLOT', slot, 'MIGRATING', targetId);
      const beforeMove = done;
      // One key per MIGRATE, so requests meet the slot half moved (ASK for the keys already gone).
      for (;;) {
        const keys = (await sourceClient.cluster('GETKEYSINSLOT', slot, 1)) as string[];
        if (keys.length === 0) break;
        await sourceClient.migrate('127.0.0.1', targetPort, '', 0, 5_000, 'KEYS', ...keys);
      }
      const duringMove = done - beforeMove;
      for (const port of cluster.ports) {
        const c = nodeClient(port);
        await c.cluster('SETSLOT', slot, 'NODE', targetId);
        c.disconnect();
      }
      // Requests after the move meet MOVED from the old owner until ioredis refreshes its slot map.
      const afterMove = done;
      await until(async () => done - afterMove >= 40 || errors.length > 0, 10_000, 'requests after the move');
      stop = true;
      await load;
      sourceClient.disconnect();
      targetClient.disconnect();

      expect(errors, 'no request failed during the move').to.deep.equal([]);
      expect((await owner()).port, 'the slot moved').to.equal(targetPort);
      for (let i = 0; i < 200; i++) expect(await store.get(key(i))).to.equal(`v${i}`);
      expect(await store.get('{moving}:counter'), 'every increment counted once').to.equal(String(done));
      expect(duringMove, 'requests ran while the slot was half moved').to.be.above(0);
    } finally {
      admin.disconnect();
      await store.close();
    }
  });
});
