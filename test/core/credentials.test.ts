import { expect } from 'chai';
import crypto, { timingSafeEqual } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { CredentialIndex } from '../../core/credentials.js';

describe('core/credentials CredentialIndex', () => {
  const index = new CredentialIndex([
    { id: '123456', secret: 'app-key-1' },
    { secret: 'licence-a', scopes: ['pkgExpressEntry'] },
    { secret: 'licence-b' },
  ]);
  describe('.match', () => {
    it('matches an id with its secret', () => {
      expect(index.match('123456', 'app-key-1')?.id).to.equal('123456');
    });
    it('refuses a wrong secret, a secret of another id, an unknown id and no secret', () => {
      expect(index.match('123456', 'app-key-2')).to.equal(undefined);
      expect(index.match('123456', 'licence-a')).to.equal(undefined);
      expect(index.match('999999', 'app-key-1')).to.equal(undefined);
      expect(index.match('123456', undefined)).to.equal(undefined);
    });
    it('finds a secret-only credential (a licence) by its secret, whatever its length', () => {
      expect(index.match(undefined, 'licence-b')?.secret).to.equal('licence-b');
      expect(index.match(undefined, 'licence-a')?.scopes).to.deep.equal(['pkgExpressEntry']);
      expect(index.match(undefined, 'licence')).to.equal(undefined);
      expect(index.match(undefined, 'licence-a-but-longer')).to.equal(undefined);
    });
  });
});

/**
 * Runs `fn` with `crypto.timingSafeEqual` wrapped by a counter. The named import in
 * core/credentials.ts is a live binding of node:crypto's export, which `syncBuiltinESMExports`
 * updates, so this watches the real call without any hook in the code under test.
 */
function comparisons<T>(fn: () => T): { result: T; calls: (readonly [Buffer, Buffer])[] } {
  const original = crypto.timingSafeEqual;
  const calls: (readonly [Buffer, Buffer])[] = [];
  crypto.timingSafeEqual = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView): boolean => {
    calls.push([a as Buffer, b as Buffer]);
    return original(a, b);
  };
  syncBuiltinESMExports();
  try {
    return { result: fn(), calls };
  } finally {
    crypto.timingSafeEqual = original;
    syncBuiltinESMExports();
  }
}

describe('core/credentials CredentialIndex: the work does not depend on the answer', () => {
  const index = new CredentialIndex([
    { id: '123456', secret: 'app-key-1' },
    { secret: 'licence-a' },
    { secret: 'licence-b-which-is-longer' },
  ]);

  it('watches node:crypto’s timingSafeEqual (the spy itself works)', () => {
    const { result, calls } = comparisons(() => timingSafeEqual(Buffer.from('a'), Buffer.from('a')));
    expect(result).to.equal(true);
    expect(calls).to.have.length(1);
  });

  describe('having a credential id', () => {
    const cases: [string, string, string][] = [
      ['a known id and its secret', '123456', 'app-key-1'],
      ['a known id and a wrong secret', '123456', 'wrong'],
      ['an unknown id', '999999', 'app-key-1'],
      ['an unknown id and a secret of another length', 'nobody', 'x'.repeat(200)],
    ];
    for (const [what, id, secret] of cases) {
      it(`compares once, in constant time, over two 32-byte digests: ${what}`, () => {
        const { result, calls } = comparisons(() => index.match(id, secret));
        expect(result?.id).to.equal(what === 'a known id and its secret' ? '123456' : undefined);
        expect(calls).to.have.length(1);
        expect(calls.map(([a, b]) => [a.length, b.length])).to.deep.equal([[32, 32]]);
      });
    }
  });

  describe('having only a secret (a licence)', () => {
    for (const [what, secret, found] of [
      ['the first entry’s secret', 'app-key-1', 'app-key-1'],
      ['the second entry’s secret', 'licence-a', 'licence-a'],
      ['the last entry’s secret', 'licence-b-which-is-longer', 'licence-b-which-is-longer'],
      ['no entry’s secret', 'licence-c', undefined],
    ] as const) {
      it(`compares against every entry, never stopping at a match: ${what}`, () => {
        const { result, calls } = comparisons(() => index.match(undefined, secret));
        expect(result?.secret).to.equal(found);
        expect(calls).to.have.length(3);
        for (const [a, b] of calls) expect([a.length, b.length]).to.deep.equal([32, 32]);
      });
    }
  });
});
