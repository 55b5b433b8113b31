import { expect } from 'chai';
import { parseStringPromise } from 'xml2js';
import { adminPost, formPost, host, type Host } from '../helpers/host.js';

const LICENCE = 'melissa-test-licence-0123456789';
const ENV = { MELISSA_LICENSE: LICENCE };
const TOKEN = /^T:[A-Za-z0-9_-]{32}$/;
const XML_TOKEN = /^<RequestTokenResponse><Result><\/Result><Token>(T:[A-Za-z0-9_-]{32})<\/Token><\/RequestTokenResponse>$/;
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

describe('policies/melissa.yaml (over HTTP)', () => {
  let h: Host;
  const web = (params: Record<string, string>) => fetch(`${h.url}/v3/web/Service.svc/RequestToken?${q(params)}`);
  const json = async (params: Record<string, string>) =>
    (await (await fetch(`${h.url}/v3/json/Service.svc/RequestToken?${q(params)}`)).json()) as { Result: string; Token: string };
  const service = async (token: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${h.url}/melissa/demo/ExpressFreeForm?${q({ id: token })}`, { headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeEach(async () => {
    h = await host(['policies/melissa.yaml'], ENV, ['127.0.0.1']);
  });
  afterEach(() => h.close());

  describe('RequestToken', () => {
    it('answers the XML route in the vendor shape, readable as SimpleXMLElement reads it', async () => {
      const res = await web({ L: LICENCE, P: 'pkgExpressEntry' });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/xml; charset=utf-8');
      const text = await res.text();
      expect(text).to.match(XML_TOKEN);
      const parsed = (await parseStringPromise(text)) as { RequestTokenResponse: { Result: string[]; Token: string[] } };
      expect(parsed.RequestTokenResponse.Token[0]).to.match(TOKEN);
      expect(parsed.RequestTokenResponse.Result[0]).to.equal('');
    });
    it('answers the JSON route with {"Result":"","Token":"T:…"}, with parameter names in any case', async () => {
      const body = await json({ l: LICENCE, p: 'pkgExpressEntry,GlobalExpressEntry' });
      expect(body.Result).to.equal('');
      expect(body.Token).to.match(TOKEN);
      expect(Object.keys(body)).to.deep.equal(['Result', 'Token']);
    });
    it('stores the token with only the packages asked for, reusable until expiry', async () => {
      const { Token } = await json({ L: LICENCE, P: 'pkgBorgCheck' });
      const info = (await (await fetch(`${h.url}/introspect`, adminPost({ token: Token }))).json()) as Record<string, unknown>;
      expect(info).to.include({ active: true, policy: 'melissa', scope: 'pkgBorgCheck', client_id: 'demo-licence' });
      expect(info['exp']).to.equal(Math.floor(h.clock.now() / 1000) + 300);
    });
    it('carries every allowed package when P is absent', async () => {
      const { Token } = await json({ L: LICENCE });
      const info = (await (await fetch(`${h.url}/introspect`, adminPost({ token: Token }))).json()) as Record<string, unknown>;
      expect(info['scope']).to.equal('pkgExpressEntry GlobalExpressEntry pkgBorgCheck pkgBorgVerify');
    });

    describe('TS (lifetime HHMM) and the TTL guard', () => {
      const lifetime = async (ts: string) => {
        const { Token } = await json({ L: LICENCE, TS: ts });
        const info = (await (await fetch(`${h.url}/introspect`, adminPost({ token: Token }))).json()) as { exp: number; iat: number };
        return info.exp - info.iat;
      };
      it('defaults to 0005, reads HHMM, and reaches 99 hours', async () => {
        expect(await lifetime('0001')).to.equal(60);
        expect(await lifetime('0130')).to.equal(90 * 60);
        expect(await lifetime('9900')).to.equal(99 * 3600);
      });
      it('expires the token with the injected clock', async () => {
        const { Token } = await json({ L: LICENCE, TS: '0002' });
        h.clock.advance(119_999);
        expect((await service(Token)).status).to.equal(200);
        h.clock.advance(1);
        expect(await service(Token)).to.deep.equal({ status: 200, body: { Version: 'tokensmith', ResultCode: 'GE05', Results: [] } });
      });
    });

    describe('errors: a TE code in Result and an empty Token', () => {
      const cases: [string, Record<string, string>, string][] = [
        ['no licence', { P: 'pkgExpressEntry' }, 'TE01'],
        ['a wrong licence', { L: 'wrong', P: 'pkgExpressEntry' }, 'TE01'],
        ['a package the licence may not use', { L: LICENCE, P: 'pkgExpressEntry,pkgBorgAppend' }, 'TE02'],
        ['TS not HHMM', { L: LICENCE, TS: '5m' }, 'TE03'],
        ['TS 0000', { L: LICENCE, TS: '0000' }, 'TE03'],
        ['TS over 99 hours', { L: LICENCE, TS: '9901' }, 'TE03'],
        ['TS minutes over 59', { L: LICENCE, TS: '0060' }, 'TE03'],
        ['IP not an address', { L: LICENCE, IP: 'example.com' }, 'TE04'],
        ['a parameter given twice', { L: LICENCE }, 'TE07'],
      ];
      for (const [what, params, code] of cases) {
        it(`refuses ${what} with ${code}, in XML and in JSON`, async () => {
          const query = what === 'a parameter given twice' ? `${q(params)}&l=${LICENCE}` : q(params);
          const xmlRes = await fetch(`${h.url}/v3/web/Service.svc/RequestToken?${query}`);
          expect(xmlRes.status).to.equal(200);
          expect(await xmlRes.text()).to.equal(`<RequestTokenResponse><Result>${code}</Result><Token></Token></RequestTokenResponse>`);
          const jsonRes = await fetch(`${h.url}/v3/json/Service.svc/RequestToken?${query}`);
          expect(await jsonRes.json()).to.deep.equal({ Result: code, Token: '' });
        });
      }
      it('refuses a method the route does not serve with TE07 in the route’s own format', async () => {
        const res = await fetch(`${h.url}/v3/json/Service.svc/RequestToken?L=${LICENCE}`, { method: 'POST' });
        expect(await res.json()).to.deep.equal({ Result: 'TE07', Token: '' });
        expect(res.headers.get('allow')).to.equal('GET');
      });
      it('locks an address out after 10 failures with TE05 and Retry-After', async () => {
        for (let i = 0; i < 10; i++) expect((await json({ L: `wrong-${i}` })).Result).to.equal('TE01');
        const res = await fetch(`${h.url}/v3/json/Service.svc/RequestToken?L=${LICENCE}`);
        expect(await res.json()).to.deep.equal({ Result: 'TE05', Token: '' });
        expect(res.headers.get('retry-after')).to.equal('900');
        h.clock.advance(15 * 60_000);
        expect((await json({ L: LICENCE })).Token).to.match(TOKEN);
      });
    });
  });

  describe('the consuming side (a Melissa service taking the token in id)', () => {
    it('accepts a token with the package, from its bound address', async () => {
      const { Token } = await json({ L: LICENCE, P: 'pkgExpressEntry', IP: '127.0.0.1' });
      const { status, body } = await service(Token);
      expect(status).to.equal(200);
      expect(body).to.deep.include({ ok: true, policy: 'melissa', scope: ['pkgExpressEntry'] });
    });
    it('refuses an unknown token with GE05, a missing package with GE08, another address with GE13', async () => {
      expect((await service('T:nope')).body['ResultCode']).to.equal('GE05');
      const check = await json({ L: LICENCE, P: 'pkgBorgCheck' });
      expect((await service(check.Token)).body['ResultCode']).to.equal('GE08');
      const bound = await json({ L: LICENCE, IP: '203.0.113.9' });
      expect((await service(bound.Token)).body['ResultCode']).to.equal('GE13');
    });
    it('sees the bound address through a trusted proxy’s X-Forwarded-For', async () => {
      const bound = await json({ L: LICENCE, IP: '203.0.113.9' });
      expect((await service(bound.Token, { 'x-forwarded-for': '203.0.113.9' })).status).to.equal(200);
      expect((await service(bound.Token, { 'x-forwarded-for': '203.0.113.10' })).body['ResultCode']).to.equal('GE13');
    });
    it('refuses a revoked token with GE05', async () => {
      const { Token } = await json({ L: LICENCE });
      expect((await fetch(`${h.url}/revoke`, adminPost({ token: Token }))).status).to.equal(200);
      expect((await service(Token)).body['ResultCode']).to.equal('GE05');
    });
  });

  describe('the same-origin helper (the vendor’s PHP sample, built in)', () => {
    it('answers POST function=gettoken with [{"token":"T:…"}], bound to the caller, licence kept server-side', async () => {
      const res = await fetch(`${h.url}/melissa/gettoken`, formPost({ function: 'gettoken' }, { 'x-forwarded-for': '198.51.100.4' }));
      const text = await res.text();
      expect(text).to.not.include(LICENCE);
      const [{ token }] = JSON.parse(text) as [{ token: string }];
      expect(token).to.match(TOKEN);
      const info = (await (await fetch(`${h.url}/introspect`, adminPost({ token }))).json()) as Record<string, unknown>;
      expect(info).to.include({ bound_ip: '198.51.100.4', scope: 'pkgExpressEntry' });
      expect((await service(token, { 'x-forwarded-for': '198.51.100.4' })).status).to.equal(200);
      expect((await service(token)).body['ResultCode']).to.equal('GE13');
    });
    it('ignores a licence or address the browser sends', async () => {
      const res = await fetch(`${h.url}/melissa/gettoken`, formPost({ function: 'gettoken', L: 'stolen', IP: '203.0.113.1', P: 'pkgBorgVerify' }));
      const [{ token }] = (await res.json()) as [{ token: string }];
      const info = (await (await fetch(`${h.url}/introspect`, adminPost({ token }))).json()) as Record<string, unknown>;
      expect(info).to.include({ bound_ip: '127.0.0.1', scope: 'pkgExpressEntry' });
    });
    it('does not reset the address’s failure count: wrong licences between helper calls lock after 10', async () => {
      const helper = async () => ((await (await fetch(`${h.url}/melissa/gettoken`, formPost({ function: 'gettoken' }))).json()) as [{ token: string; error?: string }])[0];
      const results: string[] = [];
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 9; i++) results.push((await json({ L: `wrong-${round}-${i}` })).Result);
        const { token, error } = await helper();
        results.push(token === '' ? `helper ${error}` : 'helper ok');
      }
      expect(results.filter((r) => r === 'TE01')).to.have.length(10);
      expect(results.slice(0, 10)).to.deep.equal([...Array(9).fill('TE01'), 'helper ok']);
      expect(results[10]).to.equal('TE01');
      expect(new Set(results.slice(11))).to.deep.equal(new Set(['TE05', 'helper TE05']));
    });
    it('gives its tokens the policy’s default lifetime (5 minutes), whatever TS the caller sends', async () => {
      const res = await fetch(`${h.url}/melissa/gettoken`, formPost({ function: 'gettoken', TS: '9900' }));
      const [{ token }] = (await res.json()) as [{ token: string }];
      const info = (await (await fetch(`${h.url}/introspect`, adminPost({ token }))).json()) as { exp: number; iat: number };
      expect(info.exp - info.iat).to.equal(300);
    });
    it('refuses anything but function=gettoken', async () => {
      const res = await fetch(`${h.url}/melissa/gettoken`, formPost({ function: 'other' }));
      expect(await res.json()).to.deep.equal([{ token: '', error: 'TE07' }]);
    });
  });
});
