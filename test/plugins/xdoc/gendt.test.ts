import { expect } from 'chai';
import fc from 'fast-check';
import { formatGenDt, parseGenDt } from '../../../plugins/xdoc/gendt.js';

const AT = Date.UTC(2023, 2, 8, 22, 15, 53);

describe('plugins/xdoc/gendt', () => {
  describe('parseGenDt', () => {
    it('reads the three shapes XDOC’s pages use as the same instant', () => {
      expect(parseGenDt('2023-03-08T14:15:53-08:00')).to.equal(AT);
      expect(parseGenDt('2023-03-08T22:15:53Z')).to.equal(AT);
      expect(parseGenDt('20230308T221553')).to.equal(AT);
      expect(parseGenDt('2023-03-09T03:45:53+05:30')).to.equal(AT);
    });
    it('knows the days of each month, leap years included', () => {
      expect(parseGenDt('20240229T000000')).to.equal(Date.UTC(2024, 1, 29));
      expect(parseGenDt('2000-02-29T00:00:00Z')).to.equal(Date.UTC(2000, 1, 29));
      for (const bad of ['20230229T000000', '1900-02-29T00:00:00Z', '2023-04-31T00:00:00Z', '2023-12-32T00:00:00Z']) expect(parseGenDt(bad), bad).to.equal(undefined);
    });

    it('takes a day exactly when the calendar has it (as Date reads the year)', () => {
      const pad = (n: number, width: number) => String(n).padStart(width, '0');
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (year, month, day) => {
          const exists = new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
          const read = parseGenDt(`${pad(year, 4)}${pad(month, 2)}${pad(day, 2)}T120000`);
          expect(read).to.equal(exists ? Date.UTC(year, month - 1, day, 12) : undefined);
        }),
        { numRuns: 2000, examples: [[0, 2, 29], [96, 2, 29], [1900, 2, 29], [2000, 2, 29], [2023, 2, 29], [2024, 2, 29]] },
      );
    });

    it('reads .NET round-trip fractions (up to 7 digits) to the millisecond', () => {
      expect(parseGenDt('2023-03-08T22:15:53.1234567Z')).to.equal(AT + 123);
      expect(parseGenDt('2023-03-08T14:15:53.5-08:00')).to.equal(AT + 500);
    });
    for (const bad of [
      '', '2023-03-08', '2023-03-08T22:15:53', '2023-03-08 22:15:53Z', '2023-02-30T00:00:00Z', '2023-13-01T00:00:00Z',
      '2023-03-08T24:00:00Z', '2023-03-08T22:60:00Z', '2023-03-08T22:15:53+15:00', '20230308T2215', '20230308221553',
      '2023-03-08T22:15:53.12345678Z', ' 2023-03-08T22:15:53Z', '２０２３-03-08T22:15:53Z',
    ]) {
      it(`refuses ${JSON.stringify(bad)}`, () => expect(parseGenDt(bad)).to.equal(undefined));
    }
  });
  describe('formatGenDt', () => {
    it('writes UTC to the second, which parseGenDt reads back', () => {
      expect(formatGenDt(AT + 999)).to.equal('2023-03-08T22:15:53Z');
      expect(parseGenDt(formatGenDt(AT))).to.equal(AT);
    });
    it('writes .NET’s seven fraction digits with sub-millisecond ticks, read back to the millisecond', () => {
      expect(formatGenDt(AT + 45, 6789)).to.equal('2023-03-08T22:15:53.0456789Z');
      expect(formatGenDt(AT, 0)).to.equal('2023-03-08T22:15:53.0000000Z');
      expect(parseGenDt(formatGenDt(AT + 999, 9999))).to.equal(AT + 999);
    });
  });
});
