import { expect } from 'chai';
import { parseStringPromise } from 'xml2js';
import { adminPost, formPost, host, type Host } from '../helpers/host.js';
import { ELECTA_CSV, readXml } from '../helpers/wellformed.js';

const CID = '11267192';
const APPKEY = 'ELECTA-TEST-APPKEY-0123456789ABCDEF';
const ENV = { ELECTA_CID: CID, ELECTA_APPKEY: APPKEY };
const GUID = '[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}';
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

describe('policies/electa.yaml (over HTTP)', () => {
  let h: Host;
  const token = async (params: Record<string, string>) => (await fetch(`${h.url}/apps/token.asp?${q(params)}`)).text();
  const csvToken = async () => (await token({ CID, AppKey: APPKEY, Result: 'csv' })).slice(2);
  const session = async (params: Record<string, string>) => (await fetch(`${h.url}/apps/session.asp?${q(params)}`)).text();

  beforeEach(async () => {
    h = await host(['policies/electa.yaml'], ENV);
  });
  afterEach(() => h.close());

  describe('/apps/token.asp', () => {
    it('answers GET with the XML shape and an upper-case v4 GUID by default', async () => {
      const res = await fetch(`${h.url}/apps/token.asp?${q({ CID, AppKey: APPKEY })}`);
      expect(res.status).to.equal(200);
      const text = await res.text();
      expect(text).to.match(new RegExp(`^<Response><ResponseCode>0</ResponseCode><ResponseData>${GUID}</ResponseData></Response>$`));
      const parsed = (await parseStringPromise(text)) as { Response: { ResponseCode: string[] } };
      expect(parsed.Response.ResponseCode[0]).to.equal('0');
    });
    it('matches parameter names in any case and answers CSV', async () => {
      expect(await token({ cid: CID, appkey: APPKEY, result: 'csv' })).to.match(new RegExp(`^0,${GUID}$`));
      expect(await token({ Cid: CID, APPKEY, RESULT: 'CSV' })).to.match(new RegExp(`^0,${GUID}$`));
    });
    it('answers a form-encoded POST', async () => {
      const res = await fetch(`${h.url}/apps/token.asp`, formPost({ CID, AppKey: APPKEY, Result: 'csv' }));
      expect(await res.text()).to.match(new RegExp(`^0,${GUID}$`));
    });
    it('refuses a wrong key and an unknown account alike, in XML and CSV', async () => {
      expect(await token({ CID, AppKey: 'wrong', Result: 'csv' })).to.equal('1,Invalid Account or Application Key');
      expect(await token({ CID: '999', AppKey: APPKEY })).to.equal(
        '<Response><ResponseCode>1</ResponseCode><ResponseData>Invalid Account or Application Key</ResponseData></Response>',
      );
    });
    it('refuses missing parameters and an unknown Result with code 3', async () => {
      expect(await token({ AppKey: APPKEY, Result: 'csv' })).to.equal('3,Invalid request: missing parameter CID');
      expect(await token({ CID, AppKey: APPKEY, Result: 'json' })).to.equal(
        '<Response><ResponseCode>3</ResponseCode><ResponseData>Invalid request: reply format "json" is not allowed; use one of: xml; csv</ResponseData></Response>',
      );
    });
    it('refuses a name given twice in the query, as written or in another case (CID and cid)', async () => {
      const twice = await (await fetch(`${h.url}/apps/token.asp?Result=csv&CID=1&AppKey=x&CID=2`)).text();
      expect(twice).to.contain('<ResponseCode>3</ResponseCode>').and.to.contain('parameter CID must be given once');
      const folded = await (await fetch(`${h.url}/apps/token.asp?Result=csv&CID=1&AppKey=x&cid=2`)).text();
      expect(folded).to.contain('<ResponseCode>3</ResponseCode>').and.to.contain('parameter cid is given more than once');
    });
    it('answers XML a strict parser reads and one-line CSV, whatever text the caller quotes (%01, U+FFFE, quotes, line breaks)', async () => {
      // A parameter name given twice is quoted in the description of code 3.
      const hostile = ['%01%EF%BF%BE', '%22%0D%0A9,9', '%C2%85%E2%80%A8%0B', '%EF%BF%BF%1F'];
      for (const name of hostile) {
        const xmlText = await (await fetch(`${h.url}/apps/token.asp?${name}=1&${name}=2`)).text();
        const parsed = (await readXml(xmlText)) as { Response: { ResponseCode: string[] } };
        expect(parsed.Response.ResponseCode[0]).to.equal('3');
        // Given in the query and in the body: the query alone still says Result=csv.
        const post = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `${name}=2` };
        const csv = await (await fetch(`${h.url}/apps/token.asp?Result=csv&${name}=1`, post)).text();
        expect(csv).to.match(ELECTA_CSV).and.to.match(/^3,Invalid request: parameter .* is given more than once$/);
      }
    });

    describe('lockout', () => {
      it('locks the account for 15 minutes after 5 failures, correct key or not, and says for how long', async () => {
        for (let i = 0; i < 5; i++) expect(await token({ CID, AppKey: 'wrong', Result: 'csv' })).to.equal('1,Invalid Account or Application Key');
        const res = await fetch(`${h.url}/apps/token.asp?${q({ CID, AppKey: APPKEY, Result: 'csv' })}`);
        expect(await res.text()).to.equal('2,API access is locked after too many failed attempts; try again in 15m');
        expect(res.headers.get('retry-after')).to.equal('900');
        h.clock.advance(10 * 60_000);
        expect(await token({ CID, AppKey: APPKEY, Result: 'csv' })).to.equal('2,API access is locked after too many failed attempts; try again in 5m');
        h.clock.advance(5 * 60_000);
        expect(await token({ CID, AppKey: APPKEY, Result: 'csv' })).to.match(new RegExp(`^0,${GUID}$`));
      });
      it('counts exactly 5 of 100 concurrent wrong attempts before the lock', async () => {
        const replies = await Promise.all(Array.from({ length: 100 }, () => token({ CID, AppKey: 'wrong', Result: 'csv' })));
        expect(replies.filter((r) => r.startsWith('1,'))).to.have.length(5);
        expect(replies.filter((r) => r.startsWith('2,'))).to.have.length(95);
      });
    });
  });

  describe('the session token (consuming side: CID and Token)', () => {
    it('is reusable for 20 minutes with its own CID, and then expires', async () => {
      const guid = await csvToken();
      for (let i = 0; i < 3; i++) expect(JSON.parse(await session({ CID, Token: guid }))).to.include({ ok: true, policy: 'electa' });
      h.clock.advance(20 * 60_000 - 1);
      expect(JSON.parse(await session({ cid: CID, token: guid.toLowerCase() }))).to.include({ ok: true });
      h.clock.advance(1);
      expect(await session({ CID, Token: guid })).to.equal(
        '<Response><ResponseCode>4</ResponseCode><ResponseData>Invalid or expired session token</ResponseData></Response>',
      );
    });
    it('refuses a token of another account', async () => {
      const guid = await csvToken();
      expect(await session({ CID: '999', Token: guid, Result: 'csv' })).to.equal('5,Session token belongs to another account');
    });
    it('refuses a revoked token and an unknown one', async () => {
      const guid = await csvToken();
      expect((await fetch(`${h.url}/revoke`, adminPost({ token: guid }))).status).to.equal(200);
      expect(await session({ CID, Token: guid, Result: 'csv' })).to.equal('4,Invalid or expired session token');
      expect(await session({ CID, Token: '00000000-0000-4000-8000-000000000000', Result: 'csv' })).to.equal('4,Invalid or expired session token');
    });
    it('introspects a session with its account', async () => {
      const guid = await csvToken();
      const info = (await (await fetch(`${h.url}/introspect`, adminPost({ token: guid }))).json()) as Record<string, unknown>;
      expect(info).to.include({ active: true, policy: 'electa', client_id: CID });
      expect((info['exp'] as number) - (info['iat'] as number)).to.equal(1200);
    });
  });
});
