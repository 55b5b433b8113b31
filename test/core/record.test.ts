import { expect } from 'chai';
import { ManualClock } from '../../core/clock.js';
import { decodeRecord, encodeRecord, recordTable } from '../../core/record.js';
import type { Store, TokenRecord } from '../../core/ports.js';
import { MemoryStore } from '../../plugins/stores/memory/memory-store.js';

describe('core/record', () => {
  const minimal: TokenRecord = { tokenId: 't-1', policyId: 'electa', scopes: [], issuedAt: 1_000, expiresAt: 2_000 };
  const full: TokenRecord = {
    tokenId: 't-2',
    policyId: 'melissa',
    scopes: ['pkgExpressEntry', 'pkgBorgCheck'],
    issuedAt: 1_795_602_607_000,
    expiresAt: 1_795_603_807_000,
    credentialId: 'he said "hi",\\ ]',
    subject: 'ünïcödé\u2028user',
    boundAddress: '2001:db8::1',
    claims: { nested: { a: [1, 'two'] } },
  };

  describe('encodeRecord and decodeRecord', () => {
    it('give back the record, with the policy id from the caller and no absent fields', () => {
      expect(decodeRecord(encodeRecord(minimal), 'electa')).to.deep.equal(minimal);
      expect(decodeRecord(encodeRecord(full), 'melissa')).to.deep.equal(full);
    });

    it('read a record as stores hold it today, so that sessions survive an upgrade', () => {
      const stored = '["t-2",1795602607000,1795603807000,["pkgExpressEntry"],"123456",null,"10.0.0.1",{"iss":"x"}]';
      expect(decodeRecord(stored, 'electa')).to.deep.equal({
        tokenId: 't-2', policyId: 'electa', scopes: ['pkgExpressEntry'], issuedAt: 1_795_602_607_000, expiresAt: 1_795_603_807_000,
        credentialId: '123456', boundAddress: '10.0.0.1', claims: { iss: 'x' },
      });
    });
  });

  describe('decodeRecord', () => {
    for (const [what, text] of [
      ['text that is not JSON', 'not json'],
      ['a record of an older shape (a JSON object)', '{"tokenId":"t","scopes":[],"issuedAt":1,"expiresAt":2}'],
      ['an array of the wrong length', '["t",1,2,[]]'],
      ['an array with the wrong types', '[1,"a","b",[],null,null,null,null]'],
    ] as const) {
      it(`refuses ${what} as an unknown token (ERR_TOKEN_UNKNOWN)`, () => {
        try {
          decodeRecord(text, 'p');
          expect.fail('expected a refusal');
        } catch (err) {
          expect((err as { code?: string }).code).to.equal('ERR_TOKEN_UNKNOWN');
          expect((err as Error).message).to.equal('unknown or expired token (its stored record is not readable)');
        }
      });
    }
  });

  describe('recordTable', () => {
    /** The memory store without its RecordHolder methods: a store that keeps text, as Redis does. */
    const textOnly = (store: MemoryStore): Store => ({
      put: (k, v, t) => store.put(k, v, t),
      putIfAbsent: (k, v, t) => store.putIfAbsent(k, v, t),
      get: (k) => store.get(k),
      delete: (k) => store.delete(k),
      consume: (k) => store.consume(k),
      increment: (k, w) => store.increment(k, w),
      deny: (id, at) => store.deny(id, at),
      isDenied: (id) => store.isDenied(id),
      ttl: (k) => store.ttl(k),
      close: () => store.close(),
    });
    const kinds = [
      ['a store that holds records (memory)', (store: MemoryStore): Store => store],
      ['a store that keeps text', textOnly],
    ] as const;
    for (const [name, wrap] of kinds) {
      describe(`over ${name}`, () => {
        it('gives back an equal record until it expires, and consumes it exactly once', async () => {
          const clock = new ManualClock(0);
          const memory = new MemoryStore(clock);
          const table = recordTable(wrap(memory));
          const record = { ...full, scopes: [...full.scopes], claims: { nested: { a: [1, 'two'] } } };
          await table.put('melissa:token:x', record, 1_000);
          expect(await table.get('melissa:token:x', 'melissa')).to.deep.equal(full);
          const consumed = await Promise.all([table.consume('melissa:token:x'), table.consume('melissa:token:x')]);
          expect(consumed.sort()).to.deep.equal([false, true]);
          expect(await table.get('melissa:token:x', 'melissa')).to.equal(undefined);
          await table.put('electa:token:y', { ...minimal }, 1_000);
          clock.advance(1_000);
          expect(await table.get('electa:token:y', 'electa')).to.equal(undefined);
        });
      });
    }

    describe('over a store that holds records', () => {
      it('keeps the record frozen, so no caller can change the stored session', async () => {
        const store = new MemoryStore(new ManualClock(0));
        const table = recordTable(store);
        await table.put('melissa:token:x', { ...full, scopes: [...full.scopes], claims: { nested: { a: [1, 'two'] } } }, 1_000);
        const got = (await table.get('melissa:token:x', 'melissa')) as TokenRecord & { claims: { nested: { a: unknown[] } } };
        expect(() => ((got as { expiresAt: number }).expiresAt = Infinity)).to.throw(TypeError);
        expect(() => (got.scopes as string[]).push('pkgAll')).to.throw(TypeError);
        expect(() => got.claims.nested.a.push(3)).to.throw(TypeError);
        expect(await table.get('melissa:token:x', 'melissa')).to.deep.equal(full);
      });
      it('keeps records apart from text: neither reads as the other', async () => {
        const store = new MemoryStore(new ManualClock(0));
        await recordTable(store).put('k:record', { ...minimal }, 1_000);
        await store.put('k:text', encodeRecord(minimal), 1_000);
        expect(await store.get('k:record')).to.equal(undefined);
        expect(await store.consume('k:record')).to.equal(undefined);
        expect(await store.getRecord('k:text')).to.equal(undefined);
        expect(await store.consumeRecord('k:text')).to.equal(undefined);
        expect(await store.ttl('k:record')).to.equal(1_000);
        expect(await store.delete('k:record')).to.equal(true);
        expect(await store.getRecord('k:record')).to.equal(undefined);
      });
    });
  });
});
