import { expect } from 'chai';
import { parseStringPromise } from 'xml2js';
import { adminPost, formPost, host, type Host } from '../helpers/host.js';

/**
 * Melissa's token server as its real clients call it, byte for byte where it matters: the
 * vendor's .NET and Python Cloud API SDKs (`TokenServer`), older integrations, the seed's PHP
 * and JavaScript samples and the REST sample of the vendor's wiki. Each case asserts what that
 * client reads from the reply. See docs/compatibility.md.
 */
const LICENCE = 'melissa compat/licence+0123456789'; // a space, a slash and a plus: every encoder's corner
const ENV = { MELISSA_LICENSE: LICENCE };
const TOKEN = /^T:[A-Za-z0-9_-]{32}$/;

/** .NET's `HttpUtility.UrlEncode`: `+` for a space, lower-case hex (`%2c`), as `ParseQueryString().ToString()` writes. */
const dotnetEncode = (value: string): string =>
  encodeURIComponent(value).replace(/%20/g, '+').replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
/** Python's `urllib.parse.quote` (safe `/`) and `urlencode` (`quote_plus`: `+` for a space, `/` encoded). */
const pyQuote = (value: string): string => encodeURIComponent(value).replace(/%2F/g, '/');
const pyUrlencode = (params: Record<string, string>): string =>
  Object.entries(params).map(([k, v]) => `${encodeURIComponent(k).replace(/%20/g, '+')}=${encodeURIComponent(v).replace(/%20/g, '+')}`).join('&');

describe('compat: Melissa token server clients (policies/melissa.yaml)', () => {
  let h: Host;
  beforeEach(async () => {
    h = await host(['policies/melissa.yaml'], ENV, ['127.0.0.1']);
  });
  afterEach(() => h.close());
  const introspect = async (token: string) => (await (await fetch(`${h.url}/introspect`, adminPost({ token }))).json()) as Record<string, unknown>;
  const service = async (token: string) => (await (await fetch(`${h.url}/melissa/demo/ExpressFreeForm?id=${encodeURIComponent(token)}`)).json()) as Record<string, unknown>;

  describe('the .NET SDK (TokenServer: /v3/JSON/Service.svc/RequestToken, L first, format=json)', () => {
    const request = (params: Record<string, string>) =>
      fetch(`${h.url}/v3/JSON/Service.svc/RequestToken?${Object.entries({ L: LICENCE, format: 'json', ...params }).map(([k, v]) => `${k}=${dotnetEncode(v)}`).join('&')}`);

    it('gets a token read as JObject["Token"], with the packages, lifetime and address it set', async () => {
      const res = await request({ P: 'pkgExpressEntry,GlobalExpressEntry', TS: '0010', IP: '127.0.0.1' });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8');
      const reply = (await res.json()) as { Result: string; Token: string };
      expect(reply.Result).to.equal('');
      expect(reply.Token).to.match(TOKEN);
      const info = await introspect(reply.Token);
      expect(info).to.include({ scope: 'pkgExpressEntry GlobalExpressEntry', bound_ip: '127.0.0.1' });
      expect((info['exp'] as number) - (info['iat'] as number)).to.equal(600);
      expect(await service(reply.Token)).to.include({ ok: true });
    });
    it('reads the version from JObject["tokenServerVersion"] at …/getversion', async () => {
      const res = await fetch(`${h.url}/v3/JSON/Service.svc/getversion`);
      expect(res.status).to.equal(200);
      const reply = (await res.json()) as Record<string, unknown>;
      expect(reply['tokenServerVersion']).to.equal('3.0.0');
    });
    it('reads a refusal as Result TE01 with an empty Token', async () => {
      const res = await fetch(`${h.url}/v3/JSON/Service.svc/RequestToken?L=wrong&format=json&P=GlobalExpressEntry`);
      expect(await res.json()).to.deep.equal({ Result: 'TE01', Token: '' });
    });
    it('reads TS out of Melissa\u2019s bounds (0001–9900) as TE03', async () => {
      for (const ts of ['0000', '9901', '5']) expect(await (await request({ TS: ts })).json()).to.deep.equal({ Result: 'TE03', Token: '' });
    });
  });

  describe('the Python SDK (TokenServer: /V3/JSON/Service.svc/RequestToken?&L=…&format=json&…)', () => {
    it('gets a token with the leading & and urlencode()’s + for spaces', async () => {
      const query = `&L=${pyQuote(LICENCE)}&${pyUrlencode({ format: 'json', P: 'GlobalExpressEntry, pkgExpressEntry', TS: '0005' })}`;
      const reply = (await (await fetch(`${h.url}/V3/JSON/Service.svc/RequestToken?${query}`)).json()) as { Result: string; Token: string };
      expect(reply.Result).to.equal('');
      expect(reply.Token).to.match(TOKEN);
      const info = await introspect(reply.Token);
      expect(info['scope']).to.equal('GlobalExpressEntry pkgExpressEntry');
      expect((info['exp'] as number) - (info['iat'] as number)).to.equal(300);
    });
    it('reads the version from json.loads(…)["Version"] at /V3/JSON/Service.svc/getversion', async () => {
      const reply = (await (await fetch(`${h.url}/V3/JSON/Service.svc/getversion`)).json()) as Record<string, unknown>;
      expect(reply['Version']).to.equal('3.0.0');
    });
  });

  describe('older integrations (/v3/WEB/service.svc/RequestToken, XML)', () => {
    it('get the XML reply whose <Token> a SimpleXMLElement reads', async () => {
      const res = await fetch(`${h.url}/v3/WEB/service.svc/RequestToken?L=${encodeURIComponent(LICENCE)}&P=pkgExpressEntry`);
      const parsed = (await parseStringPromise(await res.text())) as { RequestTokenResponse: { Result: string[]; Token: string[] } };
      expect(parsed.RequestTokenResponse.Token[0]).to.match(TOKEN);
      expect(parsed.RequestTokenResponse.Result[0]).to.equal('');
    });
    it('may send format=xml on the XML route (accepted as the reply format, not refused)', async () => {
      const text = await (await fetch(`${h.url}/v3/WEB/service.svc/RequestToken?L=${encodeURIComponent(LICENCE)}&format=xml`)).text();
      expect(text).to.match(/^<RequestTokenResponse><Result><\/Result><Token>T:[A-Za-z0-9_-]{32}<\/Token><\/RequestTokenResponse>$/);
    });
  });

  describe('the seed’s samples (Melissa wiki, Express Entry: Token Server)', () => {
    it('REST sample: ?L=[LICENSE Key]&p=pkgExpressEntry&IP=[IP ADDRESS] (lower-case p)', async () => {
      const text = await (await fetch(`${h.url}/v3/web/Service.svc/RequestToken?L=${encodeURIComponent(LICENCE)}&p=pkgExpressEntry&IP=127.0.0.1`)).text();
      const token = /<Token>(T:[^<]+)<\/Token>/.exec(text)?.[1] as string;
      expect(await introspect(token)).to.include({ scope: 'pkgExpressEntry', bound_ip: '127.0.0.1' });
    });
    it('JavaScript sample: POST {function:"gettoken"} to the same origin, reads data[0].token', async () => {
      const data = (await (await fetch(`${h.url}/melissa/gettoken`, formPost({ function: 'gettoken' }))).json()) as { token: string }[];
      expect(data[0]?.token).to.match(TOKEN);
      expect(await service(data[0]?.token as string)).to.include({ ok: true });
    });
  });

  describe('package names: current (GlobalExpressEntry) and legacy (pkg…) side by side', () => {
    it('a token asked with a current name serves the service of that package, and not another one', async () => {
      const { Token } = (await (await fetch(`${h.url}/v3/json/Service.svc/RequestToken?L=${encodeURIComponent(LICENCE)}&P=GlobalExpressEntry`)).json()) as { Token: string };
      const global = (await (await fetch(`${h.url}/melissa/demo/GlobalExpressFreeForm?id=${encodeURIComponent(Token)}`)).json()) as Record<string, unknown>;
      expect(global).to.deep.include({ ok: true, scope: ['GlobalExpressEntry'] });
      expect((await service(Token))['ResultCode']).to.equal('GE08');
    });
  });

  describe('query forms these clients send', () => {
    it('accept a doubled &, nameless pairs and an empty value as nothing', async () => {
      const res = await fetch(`${h.url}/v3/json/Service.svc/RequestToken?&&L=${encodeURIComponent(LICENCE)}&&=&=&format=json&TS=&P=pkgExpressEntry&`);
      const reply = (await res.json()) as { Result: string; Token: string };
      expect(reply.Result).to.equal('');
      expect((await introspect(reply.Token))['scope']).to.equal('pkgExpressEntry');
    });
    it('still refuse a parameter given twice (in any case) with TE07', async () => {
      const res = await fetch(`${h.url}/v3/json/Service.svc/RequestToken?L=${encodeURIComponent(LICENCE)}&l=${encodeURIComponent(LICENCE)}`);
      expect(await res.json()).to.deep.equal({ Result: 'TE07', Token: '' });
    });
  });

  describe('paths in any letter case (IIS/WCF), and getversion beside each RequestToken', () => {
    it('serve /V3/json/SERVICE.svc/requesttoken, and getversion beside the XML route too', async () => {
      expect(((await (await fetch(`${h.url}/V3/json/SERVICE.svc/requesttoken?L=${encodeURIComponent(LICENCE)}`)).json()) as { Token: string }).Token).to.match(TOKEN);
      expect(await (await fetch(`${h.url}/v3/WEB/service.svc/GetVersion`)).json()).to.deep.equal({ Version: '3.0.0', tokenServerVersion: '3.0.0' });
    });
    it('refuse POST to getversion with TE07 and Allow: GET, HEAD, in JSON as the SDKs read it', async () => {
      const res = await fetch(`${h.url}/v3/json/Service.svc/getversion`, { method: 'POST' });
      expect(res.status).to.equal(200); // Melissa answers its codes with 200
      expect(res.headers.get('allow')).to.equal('GET, HEAD');
      expect(await res.json()).to.deep.equal({ Result: 'TE07', Token: '' });
    });
    it('leave paths that are not the policy’s alone (no prefix or suffix match)', async () => {
      expect((await fetch(`${h.url}/v3/json/Service.svc/RequestTokenX?L=x`)).status).to.equal(404);
      expect((await fetch(`${h.url}/v3/json/Service.svc/getversion/x`)).status).to.equal(404);
    });
  });
});
