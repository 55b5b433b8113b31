import { expect } from 'chai';
import fc from 'fast-check';
import { csvField } from '../../core/csv.js';
import { xml, xmlSafe, xmlTemplate } from '../../core/xml.js';
import { assertSeeded } from '../fuzz/seed.js';
import { readXml } from '../helpers/wellformed.js';

describe('core/xml', () => {
  describe('xmlTemplate', () => {
    const shape = (a: string, b: string) => ({ RequestTokenResponse: { Result: a, Token: b } });
    const filled = xmlTemplate((slot) => shape(slot(0), slot(1)));
    it('gives the same bytes as xml2js, empty elements included', () => {
      for (const [a, b] of [['', 'T:abc'], ['TE01', ''], ['', ''], ['x', 'a&b<c>"d\'e'], ['\r\n', 'é'], ['\u0001', '\uFFFE\uD800']]) {
        expect(filled([a as string, b as string])).to.equal(xml(shape(a as string, b as string)));
      }
      expect(filled(['', 'T:abc'])).to.equal('<RequestTokenResponse><Result></Result><Token>T:abc</Token></RequestTokenResponse>');
    });
    it('escapes text so a value cannot add markup', () => {
      expect(filled(['', '</Token><Evil/>'])).to.equal('<RequestTokenResponse><Result></Result><Token>&lt;/Token&gt;&lt;Evil/&gt;</Token></RequestTokenResponse>');
    });
    it('replaces the characters XML 1.0 does not allow (controls, U+FFFE, U+FFFF, lone surrogates) with U+FFFD', async () => {
      const text = filled(['a\u0001b\u000Bc\u001F', 'x\uFFFEy\uFFFFz\uD800w\uDC00']);
      expect(text).to.equal('<RequestTokenResponse><Result>a\uFFFDb\uFFFDc\uFFFD</Result><Token>x\uFFFDy\uFFFDz\uFFFDw\uFFFD</Token></RequestTokenResponse>');
      const parsed = (await readXml(text)) as { RequestTokenResponse: { Result: string[] } };
      expect(parsed.RequestTokenResponse.Result[0]).to.equal('a\uFFFDb\uFFFDc\uFFFD');
    });
    it('keeps what XML allows: tab, LF, CR (as &#xD;), astral characters, U+FFFD', () => {
      expect(filled(['\t\n\r', '😀\uFFFD'])).to.equal('<RequestTokenResponse><Result>\t\n&#xD;</Result><Token>😀\uFFFD</Token></RequestTokenResponse>');
    });
    it('renders any string as well-formed XML that reads back as the string, unallowed characters replaced (fast-check)', async () => {
      await assertSeeded(
        fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 40 }), async (value) => {
          const parsed = (await readXml(filled(['', value]))) as { RequestTokenResponse: { Token: string[] } };
          expect(parsed.RequestTokenResponse.Token[0]).to.equal(xmlSafe(value));
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('xml', () => {
    it('replaces characters XML does not allow instead of throwing', () => {
      expect(xml({ Response: { ResponseData: 'a\u0001\uFFFE' } })).to.equal('<Response><ResponseData>a\uFFFD\uFFFD</ResponseData></Response>');
    });
  });
});

describe('core/csv csvField', () => {
  it('cannot add a field, a quoted field or a line', () => {
    expect(csvField('a,b\r\n2,"x"')).to.equal("a;b\uFFFD\uFFFD2;'x'");
    expect(csvField('l1\u0085l2\u2028l3\u2029l4\u000Bl5\u000Cl6\u0000')).to.equal('l1\uFFFDl2\uFFFDl3\uFFFDl4\uFFFDl5\uFFFDl6\uFFFD');
  });
  it('keeps ordinary text, astral characters included', () => {
    expect(csvField('Invalid request: missing parameter CID 😀 é')).to.equal('Invalid request: missing parameter CID 😀 é');
  });
  it('leaves one field on one line, for any string (fast-check)', async () => {
    await assertSeeded(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (value) => {
        expect(`0,${csvField(value)}`).to.match(/^0,[^,"\r\n\u0085\u2028\u2029\p{Cc}]*$/u);
      }),
      { numRuns: 300 },
    );
  });
});
