import { expect } from 'chai';
import { xml, xmlTemplate } from '../../core/xml.js';

describe('core/xml', () => {
  describe('xmlTemplate', () => {
    const shape = (a: string, b: string) => ({ RequestTokenResponse: { Result: a, Token: b } });
    const filled = xmlTemplate((slot) => shape(slot(0), slot(1)));
    it('gives the same bytes as xml2js, empty elements included', () => {
      for (const [a, b] of [['', 'T:abc'], ['TE01', ''], ['', ''], ['x', 'a&b<c>"d\'e'], ['\r\n', 'é']]) {
        expect(filled([a as string, b as string])).to.equal(xml(shape(a as string, b as string)));
      }
      expect(filled(['', 'T:abc'])).to.equal('<RequestTokenResponse><Result></Result><Token>T:abc</Token></RequestTokenResponse>');
    });
    it('escapes text so a value cannot add markup', () => {
      expect(filled(['', '</Token><Evil/>'])).to.equal('<RequestTokenResponse><Result></Result><Token>&lt;/Token&gt;&lt;Evil/&gt;</Token></RequestTokenResponse>');
    });
  });
});
