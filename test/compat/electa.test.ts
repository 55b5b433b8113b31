import { expect } from 'chai';
import { parseStringPromise } from 'xml2js';
import { formPost, host, type Host } from '../helpers/host.js';

/**
 * Electa Live API 2.1 as its real clients call it: Electa's own Moodle plugin (CSV session,
 * then the classroom launch form), other LMS integrations (XML by default), and the seed's PHP
 * cURL and ASP WinHttp samples. See docs/compatibility.md.
 */
const CID = '123456';
const APPKEY = 'UO86CN11XY73SF72TT40PG18ZE76VV71';
const ENV = { ELECTA_CID: CID, ELECTA_APPKEY: APPKEY };
const GUID = /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/;
const MOODLE = { 'user-agent': 'eLectaLiveMoodleAM/2.1' };

type ElectaXml = { Response: { ResponseCode: string[]; ResponseData: unknown[] } };

describe('compat: Electa Live API 2.1 clients (policies/electa.yaml)', () => {
  let h: Host;
  beforeEach(async () => {
    h = await host(['policies/electa.yaml'], ENV);
  });
  afterEach(() => h.close());

  /** The Moodle plugin's session call: split on "," and take field 1 when field 0 is "0". */
  const moodleSession = async (appkey = APPKEY): Promise<{ fields: string[]; token: string | undefined }> => {
    const text = await (await fetch(`${h.url}/apps/token.asp?cid=${CID}&appkey=${appkey}&result=csv`, { headers: MOODLE })).text();
    const fields = text.split(',');
    return { fields, token: fields[0] === '0' ? fields[1] : undefined };
  };
  /** The Moodle plugin's classroom launch: a form POST with lower-case field names. */
  const launch = (fields: Record<string, string>) => fetch(`${h.url}/apps/launch.asp`, formPost(fields, MOODLE));
  const user = { roomid: '42', externalname: 'Ann O\u2019Neil', firstname: 'Ann', lastname: 'O\u2019Neil', usertypeid: '2' };

  describe('Electa’s Moodle plugin (eLectaLiveMoodleAM/2.1)', () => {
    it('gets a session from token.asp?…&result=csv, and the launch form is accepted', async () => {
      const { token } = await moodleSession();
      expect(token).to.match(GUID);
      const res = await launch({ cid: CID, ...user, token: token as string });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('text/xml; charset=utf-8');
      const body = await res.text();
      const expires = new Date(h.clock.now() + 20 * 60_000).toISOString().replace('.000Z', 'Z');
      expect(body).to.equal(
        '<Response><ResponseCode>0</ResponseCode><ResponseData><RoomId>42</RoomId><ExternalName>Ann O\u2019Neil</ExternalName>' +
          `<FirstName>Ann</FirstName><LastName>O\u2019Neil</LastName><UserTypeId>2</UserTypeId><Expires>${expires}</Expires></ResponseData></Response>`,
      );
    });
    it('reads a wrong key as field 0 "1" and no token', async () => {
      const { fields, token } = await moodleSession('WRONGKEY');
      expect(token).to.equal(undefined);
      expect(fields).to.deep.equal(['1', 'Invalid Account or Application Key']);
    });
    it('gets the launch refused in Electa’s codes: another account 5, no room 3, an expired session 4, a bad token 4', async () => {
      const { token } = await moodleSession();
      const code = async (fields: Record<string, string>) => {
        const parsed = (await parseStringPromise(await (await launch(fields)).text())) as ElectaXml;
        return [parsed.Response.ResponseCode[0], parsed.Response.ResponseData[0]];
      };
      expect(await code({ cid: '999999', ...user, token: token as string })).to.deep.equal(['5', 'Session token belongs to another account']);
      expect(await code({ cid: CID, token: token as string })).to.deep.equal(['3', 'Invalid request: missing parameter RoomId']);
      expect(await code({ cid: CID, ...user, token: 'not-a-guid' })).to.deep.equal(['4', 'Invalid or expired session token']);
      h.clock.advance(20 * 60_000);
      expect(await code({ cid: CID, ...user, token: token as string })).to.deep.equal(['4', 'Invalid or expired session token']);
    });
    it('repeats names as given, escaped: markup stays text in XML, commas are quoted in CSV', async () => {
      const { token } = await moodleSession();
      const hostile = { ...user, firstname: '<b>Ann</b> & co', lastname: 'Smith, "Jr"' };
      const parsed = (await parseStringPromise(await (await launch({ cid: CID, ...hostile, token: token as string })).text())) as {
        Response: { ResponseData: { FirstName: string[]; LastName: string[] }[] };
      };
      expect(parsed.Response.ResponseData[0]?.FirstName[0]).to.equal('<b>Ann</b> & co');
      const csv = await (await launch({ cid: CID, ...hostile, token: token as string, result: 'csv' })).text();
      expect(csv.startsWith('0,42,Ann O\u2019Neil,<b>Ann</b> & co,"Smith, ""Jr""",2,')).to.equal(true);
    });
    it('refuses a name holding a control character, or longer than 256 characters, with code 3', async () => {
      const { token } = await moodleSession();
      for (const firstname of ['Ann\u0000', 'A'.repeat(257)]) {
        const text = await (await launch({ cid: CID, ...user, firstname, token: token as string, result: 'csv' })).text();
        expect(text.startsWith('3,Invalid request: parameter FirstName')).to.equal(true);
      }
    });
  });

  describe('other integrations', () => {
    it('call token.asp without Result and read the XML reply; launch by GET with names in any case', async () => {
      const parsed = (await parseStringPromise(await (await fetch(`${h.url}/apps/token.asp?CID=${CID}&AppKey=${APPKEY}`)).text())) as ElectaXml;
      expect(parsed.Response.ResponseCode[0]).to.equal('0');
      const token = parsed.Response.ResponseData[0] as string;
      expect(token).to.match(GUID);
      const res = await fetch(`${h.url}/Apps/Launch.asp?CID=${CID}&RoomID=7&Token=${token.toLowerCase()}&Result=CSV`);
      expect(await res.text()).to.match(/^0,7,,,,,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });
    it('the seed’s PHP cURL sample: https://…/apps/token.asp?cid=…&appkey=…&result=xml', async () => {
      const text = await (await fetch(`${h.url}/apps/token.asp?cid=${CID}&appkey=${APPKEY}&result=xml`)).text();
      expect(text).to.match(/^<Response><ResponseCode>0<\/ResponseCode><ResponseData>[0-9A-F-]{36}<\/ResponseData><\/Response>$/);
    });
    it('the seed’s ASP WinHttp sample, on IIS-style paths: /APPS/TOKEN.ASP', async () => {
      const text = await (await fetch(`${h.url}/APPS/TOKEN.ASP?cid=${CID}&appkey=${APPKEY}&result=xml`)).text();
      expect(text).to.include('<ResponseCode>0</ResponseCode>');
    });
    it('keep the minimal session.asp example answering JSON', async () => {
      const { token } = await moodleSession();
      const body = (await (await fetch(`${h.url}/apps/session.asp?CID=${CID}&Token=${token}`)).json()) as Record<string, unknown>;
      expect(body).to.include({ ok: true, policy: 'electa' });
    });
  });
});
