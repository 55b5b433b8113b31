import { expect } from 'chai';
import { decodeRecord, encodeRecord } from '../../core/record.js';
import type { TokenRecord } from '../../core/ports.js';

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

  describe('encodeRecord', () => {
    it('writes a JSON array in a fixed order, nulls for what is absent', () => {
      expect(encodeRecord(minimal)).to.equal('["t-1",1000,2000,[],null,null,null,null]');
      expect(JSON.parse(encodeRecord(full))).to.deep.equal([
        't-2', 1_795_602_607_000, 1_795_603_807_000, ['pkgExpressEntry', 'pkgBorgCheck'], 'he said "hi",\\ ]', 'ünïcödé\u2028user', '2001:db8::1',
        { nested: { a: [1, 'two'] } },
      ]);
    });
  });

  describe('decodeRecord', () => {
    it('gives back the record, with the policy id from the caller and no absent fields', () => {
      expect(decodeRecord(encodeRecord(minimal), 'electa')).to.deep.equal(minimal);
      expect(Object.keys(decodeRecord(encodeRecord(minimal), 'electa'))).to.deep.equal(['tokenId', 'policyId', 'scopes', 'issuedAt', 'expiresAt']);
      expect(decodeRecord(encodeRecord(full), 'melissa')).to.deep.equal(full);
    });

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
});
