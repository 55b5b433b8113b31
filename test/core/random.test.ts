import { expect } from 'chai';
import { CryptoRandom } from '../../core/random.js';

describe('core/random CryptoRandom', () => {
  describe('.bytes', () => {
    it('hands out the asked length, never the same bytes twice, across pool refills', () => {
      const random = new CryptoRandom();
      const seen = new Set<string>();
      // 24-byte tokens: 400 of them take the 4 KiB pool through two refills.
      for (let i = 0; i < 400; i++) {
        const bytes = random.bytes(24);
        expect(bytes).to.have.length(24);
        seen.add(bytes.toString('hex'));
      }
      expect(seen.size).to.equal(400);
    });

    it('gives each caller its own copy: changing one result changes no other', () => {
      const random = new CryptoRandom();
      const first = random.bytes(16);
      const copy = Buffer.from(first);
      const second = random.bytes(16);
      second.fill(0);
      expect(first.equals(copy)).to.equal(true);
    });

    it('serves large requests straight from the CSPRNG', () => {
      const random = new CryptoRandom();
      const a = random.bytes(4096);
      const b = random.bytes(4096);
      expect(a).to.have.length(4096);
      expect(a.equals(b)).to.equal(false);
      // Not all zeroes (a pool bug would hand out the zeroed, used part).
      expect(a.some((x) => x !== 0)).to.equal(true);
    });

    it('spreads its bytes: every byte value turns up in 64 KiB', () => {
      const random = new CryptoRandom();
      const counts = Array.from({ length: 256 }, () => 0);
      for (let i = 0; i < 4096; i++) for (const byte of random.bytes(16)) counts[byte] = (counts[byte] ?? 0) + 1;
      expect(counts.every((n) => n > 0)).to.equal(true);
    });
  });

  describe('.uuid', () => {
    it('makes version 4 UUIDs', () => {
      expect(new CryptoRandom().uuid()).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it('never repeats, and every random digit takes every value', () => {
      const random = new CryptoRandom();
      const seen = new Set<string>();
      const digits = Array.from({ length: 36 }, () => new Set<string>());
      for (let i = 0; i < 2000; i++) {
        const uuid = random.uuid();
        expect(uuid).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        seen.add(uuid);
        [...uuid].forEach((c, at) => digits[at]?.add(c));
      }
      expect(seen.size).to.equal(2000);
      const sizes = digits.map((d) => d.size);
      // Dashes at 8, 13, 18, 23; the version digit (14) is always 4; the variant digit (19) is 8, 9, a or b.
      expect(sizes).to.deep.equal([...sizes.keys()].map((at) => ([8, 13, 18, 23, 14].includes(at) ? 1 : at === 19 ? 4 : 16)));
    });
  });
});
