import { expect } from 'chai';
import { ManualClock } from '../../core/clock.js';
import { hasBulkRevocation, hasExpiringIndex, holdsRecords, type BulkRevocation, type ExpiringIndex, type Store } from '../../core/ports.js';
import { encodeRecord, tokenRecord } from '../../core/record.js';

/** How a store under test is made, and whether it can follow a manual clock. */
export interface StoreSetup {
  create(clock: ManualClock): Promise<Store>;
  /** `manual`: the store reads the injected clock. `real`: it keeps real time (Redis). */
  timeControl: 'manual' | 'real';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The `Store` contract as a mocha suite, so every adapter (memory, Redis, a third one) is held
 * to the same tests. Time-dependent cases move the manual clock, or wait briefly (bounded) for
 * real-time stores.
 *
 * @example describeStoreContract('memory', { create: async (clock) => new MemoryStore(clock), timeControl: 'manual' });
 */
export function describeStoreContract(name: string, setup: StoreSetup): void {
  describe(`Store contract: ${name}`, () => {
    let clock: ManualClock;
    let store: Store;
    /** Lets `ms` pass for the store, whichever kind of time it keeps. */
    const pass = async (ms: number) => {
      clock.advance(ms);
      if (setup.timeControl === 'real') await sleep(ms);
    };
    // Real-time stores get short TTLs so the suite stays fast; manual ones get long ones.
    const unit = setup.timeControl === 'real' ? 60 : 60_000;

    beforeEach(async () => {
      clock = new ManualClock(Date.parse('2026-11-22T12:00:00Z'));
      store = await setup.create(clock);
    });
    afterEach(async () => {
      await store.close();
    });

    describe('.put / .get / .delete', () => {
      it('stores, overwrites and deletes values', async () => {
        expect(await store.get('k')).to.equal(undefined);
        await store.put('k', 'one', 10 * unit);
        expect(await store.get('k')).to.equal('one');
        await store.put('k', 'two', 10 * unit);
        expect(await store.get('k')).to.equal('two');
        expect(await store.delete('k')).to.equal(true);
        expect(await store.get('k')).to.equal(undefined);
        expect(await store.delete('k')).to.equal(false);
      });
      it('keeps unicode and JSON values byte for byte', async () => {
        const value = JSON.stringify({ sub: 'üser ✓', n: [1, 2] });
        await store.put('k', value, 10 * unit);
        expect(await store.get('k')).to.equal(value);
      });
      it('expires a value after its TTL, and not before', async () => {
        await store.put('k', 'v', 4 * unit);
        await pass(2 * unit);
        expect(await store.get('k')).to.equal('v');
        await pass(3 * unit);
        expect(await store.get('k')).to.equal(undefined);
        expect(await store.delete('k')).to.equal(false);
      });
    });

    describe('.ttl', () => {
      it('tells the remaining lifetime, undefined when absent', async () => {
        expect(await store.ttl('k')).to.equal(undefined);
        await store.put('k', 'v', 10 * unit);
        const left = (await store.ttl('k')) as number;
        expect(left).to.be.within(8 * unit, 10 * unit);
      });
    });

    describe('.putIfAbsent', () => {
      it('sets only when absent', async () => {
        expect(await store.putIfAbsent('k', 'a', 10 * unit)).to.equal(true);
        expect(await store.putIfAbsent('k', 'b', 10 * unit)).to.equal(false);
        expect(await store.get('k')).to.equal('a');
      });
      it('sets again once the first value expired', async () => {
        expect(await store.putIfAbsent('k', 'a', 2 * unit)).to.equal(true);
        await pass(3 * unit);
        expect(await store.putIfAbsent('k', 'b', 2 * unit)).to.equal(true);
        expect(await store.get('k')).to.equal('b');
      });
      it('lets exactly one of 100 concurrent calls win', async () => {
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => store.putIfAbsent('k', `v${i}`, 10 * unit)));
        expect(results.filter(Boolean)).to.have.length(1);
        expect(await store.get('k')).to.equal(`v${results.indexOf(true)}`);
      });
    });

    describe('.consume', () => {
      it('returns the value once and removes it', async () => {
        await store.put('k', 'v', 10 * unit);
        expect(await store.consume('k')).to.equal('v');
        expect(await store.consume('k')).to.equal(undefined);
        expect(await store.get('k')).to.equal(undefined);
      });
      it('gives the value to exactly one of 100 concurrent callers', async () => {
        await store.put('k', 'v', 10 * unit);
        const results = await Promise.all(Array.from({ length: 100 }, () => store.consume('k')));
        expect(results.filter((r) => r === 'v')).to.have.length(1);
        expect(results.filter((r) => r === undefined)).to.have.length(99);
      });
      it('does not return an expired value', async () => {
        await store.put('k', 'v', 2 * unit);
        await pass(3 * unit);
        expect(await store.consume('k')).to.equal(undefined);
      });
    });

    describe('.increment', () => {
      it('counts from 1 within a window that starts at the first increment, its end on the injected clock', async () => {
        const first = await store.increment('c', 10 * unit);
        expect(first.count).to.equal(1);
        // A real-time store reports now + what Redis has left: a few ms may already be gone.
        const slack = setup.timeControl === 'real' ? 50 : 0;
        expect(first.resetAt).to.be.within(clock.now() + 10 * unit - slack, clock.now() + 10 * unit);
        await pass(unit);
        const second = await store.increment('c', 10 * unit);
        expect(second.count).to.equal(2);
        // Later increments do not extend the window: that would put its end a whole unit later.
        expect(second.resetAt, 'later increments do not extend the window').to.be.within(first.resetAt - slack, first.resetAt + Math.min(slack, 5));
        expect(await store.get('c')).to.equal('2');
      });
      it('starts again after the window', async () => {
        await store.increment('c', 2 * unit);
        await store.increment('c', 2 * unit);
        await pass(3 * unit);
        expect((await store.increment('c', 2 * unit)).count).to.equal(1);
      });
      it('counts 100 concurrent increments exactly once each', async () => {
        const results = await Promise.all(Array.from({ length: 100 }, () => store.increment('c', 10 * unit)));
        expect(results.map((r) => r.count).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 100 }, (_, i) => i + 1));
      });
      it('continues from a count written with put, within the put lifetime', async () => {
        await store.put('c', '5', 4 * unit);
        expect((await store.increment('c', 100 * unit)).count).to.equal(6);
        await pass(5 * unit);
        expect(await store.get('c')).to.equal(undefined);
      });
    });

    describe('.deny / .isDenied', () => {
      it('deny-lists an id until the given expiry', async () => {
        expect(await store.isDenied('p:jti-1')).to.equal(false);
        await store.deny('p:jti-1', clock.now() + 3 * unit);
        expect(await store.isDenied('p:jti-1')).to.equal(true);
        expect(await store.isDenied('p:jti-2')).to.equal(false);
        await pass(4 * unit);
        expect(await store.isDenied('p:jti-1')).to.equal(false);
      });
    });

    describe('ExpiringIndex (.indexAdd / .indexList / .indexRemove)', () => {
      let index: Store & ExpiringIndex;
      beforeEach(function () {
        if (!hasExpiringIndex(store)) this.skip();
        index = store as Store & ExpiringIndex;
      });
      const members = async (name: string) => (await index.indexList(name, 100)).map((e) => [e.member, e.value]);

      it('lists live members soonest-expiring first, with their values and time left, up to the limit', async () => {
        await index.indexAdd('p:locks', 'late', 'v-late', 30 * unit);
        await index.indexAdd('p:locks', 'soon', 'v-soon', 10 * unit);
        await index.indexAdd('p:locks', 'mid', 'v-mid', 20 * unit);
        await index.indexAdd('q:locks', 'other', 'v-other', 10 * unit);
        expect(await members('p:locks')).to.deep.equal([['soon', 'v-soon'], ['mid', 'v-mid'], ['late', 'v-late']]);
        const [first] = await index.indexList('p:locks', 1);
        expect(first?.member).to.equal('soon');
        expect(first?.ttlMs).to.be.within(8 * unit, 10 * unit);
        expect(await index.indexList('p:locks', 1)).to.have.length(1);
        expect(await members('none')).to.deep.equal([]);
      });
      it('replaces a member added again (value and expiry), and keeps it apart from plain keys', async () => {
        await index.indexAdd('p:locks', 'm', 'one', 2 * unit);
        await index.indexAdd('p:locks', 'm', 'two', 10 * unit);
        await pass(3 * unit);
        expect(await members('p:locks')).to.deep.equal([['m', 'two']]);
        expect(await store.get('m')).to.equal(undefined);
        expect(await store.get('p:locks')).to.equal(undefined);
      });
      it('drops each member when it expires, and not before', async () => {
        await index.indexAdd('p:locks', 'short', 's', 2 * unit);
        await index.indexAdd('p:locks', 'long', 'l', 6 * unit);
        await pass(unit);
        expect(await members('p:locks')).to.deep.equal([['short', 's'], ['long', 'l']]);
        await pass(2 * unit);
        expect(await members('p:locks')).to.deep.equal([['long', 'l']]);
        await pass(4 * unit);
        expect(await members('p:locks')).to.deep.equal([]);
      });
      it('removes a member once; true only when it was there', async () => {
        await index.indexAdd('p:locks', 'a', '1', 10 * unit);
        await index.indexAdd('p:locks', 'b', '2', 10 * unit);
        expect(await index.indexRemove('p:locks', 'a')).to.equal(true);
        expect(await index.indexRemove('p:locks', 'a')).to.equal(false);
        expect(await index.indexRemove('q:locks', 'b')).to.equal(false);
        expect(await members('p:locks')).to.deep.equal([['b', '2']]);
      });
      it('keeps every one of 100 concurrent adds', async () => {
        await Promise.all(Array.from({ length: 100 }, (_, i) => index.indexAdd('p:locks', `m${i}`, String(i), 10 * unit)));
        expect(await index.indexList('p:locks', 1000)).to.have.length(100);
      });
    });

    describe('bulk revocation (BulkRevocation)', () => {
      /** The store's bulk revocation ability: every built-in store has it. */
      const bulk = (): Store & BulkRevocation => {
        if (!hasBulkRevocation(store)) throw new Error(`${name} has no BulkRevocation`);
        return store;
      };

      /** Keeps an opaque session as the engine does: a record (as an object or as text), listed under its owner where the store keeps lists. */
      const keep = async (key: string, fields: { policyId?: string; credentialId?: string; subject?: string }, lifetime = 10 * unit) => {
        const s = bulk();
        const record = tokenRecord({ tokenId: key, policyId: fields.policyId ?? 'p', scopes: [], issuedAt: clock.now(), expiresAt: clock.now() + lifetime, ...fields });
        if (holdsRecords(s)) await s.putRecord(key, record, lifetime);
        else await s.put(key, encodeRecord(record), lifetime);
        const owner = record.credentialId !== undefined ? { policyId: record.policyId, credentialId: record.credentialId } : { policyId: record.policyId, subject: record.subject as string };
        await s.indexSession?.(owner, key, record.expiresAt);
      };
      const held = async (key: string) => (holdsRecords(store) ? (await store.getRecord(key)) !== undefined : (await store.get(key)) !== undefined);

      it('deletes every live session of a credential, says how many, and leaves other credentials’ and policies’ sessions', async () => {
        const s = bulk();
        for (const key of ['p:token:a', 'p:token:b', 'p:token:c']) await keep(key, { credentialId: '42', subject: 'u' });
        await keep('p:token:other', { credentialId: '7' });
        await keep('q:token:same-id', { policyId: 'q', credentialId: '42' });
        await s.delete('p:token:b'); // revoked alone (or used up) before
        expect(await s.revokeSessions({ policyId: 'p', credentialId: '42' })).to.equal(2);
        expect(await held('p:token:a')).to.equal(false);
        expect(await held('p:token:c')).to.equal(false);
        expect(await held('p:token:other'), 'another credential’s session').to.equal(true);
        expect(await held('q:token:same-id'), 'another policy’s session of the same credential id').to.equal(true);
        expect(await s.revokeSessions({ policyId: 'p', credentialId: '42' }), 'nothing left').to.equal(0);
        expect(await s.revokeSessions({ policyId: 'p', credentialId: 'none' }), 'a credential with no session').to.equal(0);
      });

      it('deletes a subject’s sessions that have no credential id, not those of a credential with that subject', async () => {
        const s = bulk();
        await keep('p:token:s1', { subject: 'u' });
        await keep('p:token:s2', { subject: 'u' });
        await keep('p:token:c9', { credentialId: '9', subject: 'u' });
        expect(await s.revokeSessions({ policyId: 'p', subject: 'u' })).to.equal(2);
        expect(await held('p:token:c9')).to.equal(true);
      });

      it('counts a session only while it lives: a key written again later under its name is not deleted', async () => {
        const s = bulk();
        await keep('p:token:short', { credentialId: '9' }, 2 * unit);
        await pass(3 * unit);
        await s.put('p:token:short', 'not a session of credential 9', 10 * unit);
        expect(await s.revokeSessions({ policyId: 'p', credentialId: '9' })).to.equal(0);
        expect(await s.get('p:token:short')).to.equal('not a session of credential 9');
      });

      it('keeps "not before" stamps by name, raised and never lowered, until the set expires', async () => {
        const s = bulk();
        const t = clock.now();
        expect(await s.notBefore('{p}:not-before', ['credential:42', 'subject:u'])).to.deep.equal([undefined, undefined]);
        await s.stampNotBefore('{p}:not-before', 'credential:42', t, 5 * unit);
        await s.stampNotBefore('{p}:not-before', 'credential:42', t - 1000, 5 * unit);
        await s.stampNotBefore('{p}:not-before', 'subject:u', t + 1000, 5 * unit);
        expect(await s.notBefore('{p}:not-before', ['credential:42', 'credential:7', 'subject:u'])).to.deep.equal([t, undefined, t + 1000]);
        await s.stampNotBefore('{p}:not-before', 'credential:42', t + 2000, 5 * unit);
        expect(await s.notBefore('{p}:not-before', ['credential:42'])).to.deep.equal([t + 2000]);
        await pass(6 * unit);
        expect(await s.notBefore('{p}:not-before', ['credential:42', 'subject:u']), 'after the set’s lifetime').to.deep.equal([undefined, undefined]);
      });

      it('refuses every bulk revocation call after closing with ERR_STORE_UNAVAILABLE', async () => {
        const s = bulk();
        await s.close();
        const calls: [string, () => Promise<unknown>][] = [
          ['revokeSessions', () => s.revokeSessions({ policyId: 'p', credentialId: '1' })],
          ['stampNotBefore', () => s.stampNotBefore('n', 'credential:1', clock.now(), unit)],
          ['notBefore', () => s.notBefore('n', ['credential:1'])],
        ];
        for (const [method, call] of calls) {
          const error = await call().then(() => undefined, (err: unknown) => err);
          expect((error as { code?: unknown } | undefined)?.code, method).to.equal('ERR_STORE_UNAVAILABLE');
        }
        store = await setup.create(clock); // for afterEach
      });
    });

    describe('with the injected clock far from the real time', () => {
      // A store that turned an instant into a lifetime with the host's clock rather than the
      // injected one would keep a revocation for years, or for a millisecond.
      const YEAR = 365 * 24 * 3600_000;
      for (const [label, offset] of [['a year behind the real time', -YEAR], ['a year ahead of the real time', YEAR]] as const) {
        it(`deny-lists until the given expiry on that clock, ${label}`, async () => {
          clock.set(Date.now() + offset);
          await store.deny('p:jti-far', clock.now() + 3 * unit);
          await pass(unit);
          expect(await store.isDenied('p:jti-far'), 'still denied a unit later').to.equal(true);
          await pass(3 * unit);
          expect(await store.isDenied('p:jti-far'), 'dropped after the expiry').to.equal(false);
        });
        it(`reports a counter window's end on that clock, ${label}`, async () => {
          clock.set(Date.now() + offset);
          const { resetAt } = await store.increment('c-far', 10 * unit);
          expect(resetAt).to.be.within(clock.now() + 9 * unit, clock.now() + 10 * unit);
        });
      }
    });

    describe('.close', () => {
      it('refuses every call after closing with ERR_STORE_UNAVAILABLE', async () => {
        await store.close();
        const calls: [string, () => Promise<unknown>][] = [
          ['put', () => store.put('k', 'v', unit)],
          ['putIfAbsent', () => store.putIfAbsent('k', 'v', unit)],
          ['get', () => store.get('k')],
          ['delete', () => store.delete('k')],
          ['consume', () => store.consume('k')],
          ['increment', () => store.increment('c', unit)],
          ['deny', () => store.deny('p:jti', clock.now() + unit)],
          ['isDenied', () => store.isDenied('p:jti')],
          ['ttl', () => store.ttl('k')],
          ...(hasExpiringIndex(store)
            ? ([
                ['indexAdd', () => (store as Store & ExpiringIndex).indexAdd('i', 'm', 'v', unit)],
                ['indexList', () => (store as Store & ExpiringIndex).indexList('i', 10)],
                ['indexRemove', () => (store as Store & ExpiringIndex).indexRemove('i', 'm')],
              ] as [string, () => Promise<unknown>][])
            : []),
        ];
        for (const [name, call] of calls) {
          let error: unknown;
          try {
            await call();
          } catch (err) {
            error = err;
          }
          expect((error as { code?: unknown } | undefined)?.code, name).to.equal('ERR_STORE_UNAVAILABLE');
        }
        store = await setup.create(clock); // for afterEach
      });
    });
  });
}
