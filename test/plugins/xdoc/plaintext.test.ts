import { expect } from 'chai';
import { buildPlaintext, parsePlaintext } from '../../../plugins/xdoc/plaintext.js';

const read = (text: string | Buffer) => {
  const fields = parsePlaintext(Buffer.isBuffer(text) ? text : Buffer.from(text));
  return fields === undefined ? undefined : Object.fromEntries(fields);
};

describe('plugins/xdoc/plaintext', () => {
  describe('parsePlaintext', () => {
    it('reads the seed’s XML sample, with its indentation', () => {
      const xml = '<SecurityToken>\n    <Context>MySecurityContext</Context>\n    <AppId>MyAppId</AppId>\n    <AppKey>MyAppKey</AppKey>\n    <GenDT>2023-03-08T14:15:53-08:00</GenDT>\n</SecurityToken>';
      expect(read(xml)).to.deep.equal({ Context: 'MySecurityContext', AppId: 'MyAppId', AppKey: 'MyAppKey', GenDT: '2023-03-08T14:15:53-08:00' });
    });
    it('reads <UserToken>, the older <token> root, entities, CDATA, empty elements, a BOM and an XML declaration', () => {
      expect(read('<UserToken><UserName>admin</UserName><Display>John Doe</Display></UserToken>')).to.deep.equal({ UserName: 'admin', Display: 'John Doe' });
      expect(read('\ufeff<?xml version="1.0" encoding="utf-8"?><token><Context>a &amp; b</Context><ExtData><![CDATA[<x>]]></ExtData><Profile/></token>')).to.deep.equal({
        Context: 'a & b', ExtData: '<x>', Profile: '',
      });
    });
    it('matches field names case-insensitively and ignores fields it does not know', () => {
      expect(read('<SecurityToken><context>c</context><APPID>a</APPID><Extra>x</Extra></SecurityToken>')).to.deep.equal({ Context: 'c', AppId: 'a' });
    });
    it('reads JSON, flat or wrapped in a root name, numbers as text', () => {
      expect(read('{"Context":"c","ExtFlags":5}')).to.deep.equal({ Context: 'c', ExtFlags: '5' });
      expect(read('{"SecurityToken":{"Context":"c","AppId":"a"}}')).to.deep.equal({ Context: 'c', AppId: 'a' });
    });
    it('reads form-url, with + and %-escapes', () => {
      expect(read('Context=My+Context&AppId=a%26b&GenDT=20100301T103256')).to.deep.equal({ Context: 'My Context', AppId: 'a&b', GenDT: '20100301T103256' });
    });
    it('drops trailing NULs and white space (padding Zeros and None)', () => {
      expect(read(Buffer.concat([Buffer.from('{"Context":"c"}   '), Buffer.alloc(5)]))).to.deep.equal({ Context: 'c' });
      expect(read(Buffer.concat([Buffer.from('Context=c'), Buffer.alloc(7)]))).to.deep.equal({ Context: 'c' });
    });
    describe('refuses (undefined, as a wrong key would be)', () => {
      const cases: Record<string, string | Buffer> = {
        'bytes that are not UTF-8': Buffer.from([0xc3, 0x28, 0x3c]),
        'an empty plaintext': '   ',
        'another XML root': '<Other><Context>c</Context></Other>',
        'a repeated XML field': '<token><Context>a</Context><Context>b</Context></token>',
        'the same field in two cases': '{"Context":"a","context":"b"}',
        'a nested element': '<token><Context><x>a</x></Context></token>',
        'text beside the fields': '<token>hi<Context>a</Context></token>',
        'text after the root': '<token><Context>a</Context></token>junk',
        'a second root': '<token><Context>a</Context></token><token/>',
        'unclosed XML': '<token><Context>a</Context>',
        'a DOCTYPE (no entity expansion, no external entities)': '<!DOCTYPE token [<!ENTITY x "a">]><token><Context>&x;</Context></token>',
        'an external entity': '<!DOCTYPE token SYSTEM "file:///etc/passwd"><token><Context>a</Context></token>',
        'an undeclared entity': '<token><Context>&x;</Context></token>',
        'a JSON array': '[{"Context":"c"}]',
        'a JSON object value': '{"Context":{"a":1}}',
        'a JSON null': '{"Context":null}',
        'broken JSON': '{"Context":"c"',
        'form text with no known field': 'hello=world',
        'random text': 'q9#@!x',
        'a form pair without a name': 'Context=a&=b',
        'XML without a known field': '<token><Other>x</Other></token>',
      };
      for (const [name, text] of Object.entries(cases)) it(name, () => expect(read(text)).to.equal(undefined));
    });
  });

  describe('buildPlaintext', () => {
    const fields = [['Context', 'a<b & c>'], ['AppId', 'x y']] as const;
    it('writes XML with xml2js escaping, JSON and form-url, each of which parsePlaintext reads back', () => {
      const xml = buildPlaintext('xml', 'SecurityToken', fields);
      expect(xml).to.equal('<SecurityToken><Context>a&lt;b &amp; c&gt;</Context><AppId>x y</AppId></SecurityToken>');
      expect(buildPlaintext('json', 'SecurityToken', fields)).to.equal('{"Context":"a<b & c>","AppId":"x y"}');
      expect(buildPlaintext('form', 'SecurityToken', fields)).to.equal('Context=a%3Cb+%26+c%3E&AppId=x+y');
      for (const format of ['xml', 'json', 'form'] as const) {
        expect(read(buildPlaintext(format, 'token', fields))).to.deep.equal({ Context: 'a<b & c>', AppId: 'x y' });
      }
    });
  });
});
