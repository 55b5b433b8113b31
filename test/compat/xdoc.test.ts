import { expect } from 'chai';
import { createCipheriv } from 'node:crypto';
import { formatGenDt } from '../../plugins/xdoc/gendt.js';
import { loadPolicyText } from '../../core/policy/load.js';
import { assemble } from '../../core/container.js';
import { builtinModules } from '../../plugins/index.js';
import type { PolicyCatalog } from '../../core/policy/load.js';
import { host, type Host } from '../helpers/host.js';
import { XDOC_ENV, XDOC_POLICY } from '../helpers/xdoc.js';

/**
 * XDOC-style (XWS) services as integrators' own code calls them: the XST built as form-url
 * text, encrypted with AES-256-CBC/PKCS7 under a key of 32 plain characters and an Init Vector
 * of 16 plain characters, sent with `XM`, `XSC` and `XST` in the query; the answer read from
 * the `Xws*` response headers. See docs/compatibility.md.
 */
const KEY = 'Integrator-Key-32-Chars-Long!#@9';
const IV = 'InitVector-16chr';
const ENV = { XDOC_CONTEXT: 'IntegratorContext', XDOC_APPKEY: 'IntegratorAppKey', XDOC_KEY: KEY, XDOC_IV: IV };

/** The integrators' sample: `encrypt(key, iv)` over the text as it is, standard Base64. */
const encrypt = (text: string, key = KEY, iv = IV): string => {
  const cipher = createCipheriv('aes-256-cbc', Buffer.from(key, 'utf8'), Buffer.from(iv, 'utf8'));
  return Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]).toString('base64');
};

const XWS = ['xwssuccess', 'xwsreturndata', 'xwsresultcode', 'xwsresultinfo', 'xwserrorcode', 'xwserrorinfo'];
const xws = (res: Response): Record<string, string | null> => Object.fromEntries(XWS.map((name) => [name, res.headers.get(name)]));

describe('compat: XDOC (XWS) integrators', () => {
  let h: Host;
  beforeEach(async () => {
    h = await host(['test/fixtures/compat/xdoc-integrator.yaml'], ENV);
  });
  afterEach(() => h.close());

  const xst = (fields: Record<string, string> = {}, at = h.clock.now()) =>
    encrypt(`Context=IntegratorContext&AppId=billing&AppKey=IntegratorAppKey&GenDT=${formatGenDt(at)}${Object.entries(fields).map(([k, v]) => `&${k}=${encodeURIComponent(v)}`).join('')}`);
  const call = (query: string) => fetch(`${h.url}/XDocApi/?${query}`);

  it('accepts the form-url XST under a plain-character key and IV; reads XwsSuccess 1 and the record in XwsReturnData', async () => {
    const res = await call(`XM=Container.ContainerInfo&XSC=IntegratorContext&XST=${encodeURIComponent(xst({ Client: '192.0.2.7' }))}`);
    expect(res.status).to.equal(200);
    const headers = xws(res);
    expect(headers).to.include({ xwssuccess: '1', xwsresultcode: '0', xwsresultinfo: 'Success', xwserrorcode: '0', xwserrorinfo: '' });
    const body = (await res.json()) as Record<string, unknown>;
    expect(JSON.parse(headers['xwsreturndata'] as string)).to.deep.equal(body);
    expect(body).to.include({ ok: true, policy: 'xdoc-integrator', sub: 'billing' });
    expect(body['echo']).to.deep.equal({ XM: 'Container.ContainerInfo' });
  });
  it('reads a token that fails (wrong key, tampered, expired, another context) as XwsSuccess 0, 403 Security Validation Failed', async () => {
    const stale = xst({}, h.clock.now() - 10 * 60_000);
    const cases = [
      `XSC=IntegratorContext&XST=${encodeURIComponent(encrypt('Context=IntegratorContext&AppId=a&GenDT=x', 'X'.repeat(32)))}`,
      `XSC=IntegratorContext&XST=${encodeURIComponent(`A${xst().slice(1)}`)}`,
      `XSC=IntegratorContext&XST=${encodeURIComponent(stale)}`,
      `XSC=OtherContext&XST=${encodeURIComponent(xst())}`,
      'XM=Container.ContainerInfo&XSC=IntegratorContext',
    ];
    for (const query of cases) {
      const res = await call(query);
      const headers = xws(res);
      expect(headers, query).to.include({ xwssuccess: '0', xwsresultcode: '403', xwsresultinfo: 'Security Validation Failed', xwsreturndata: '', xwserrorcode: '403' });
      expect(headers['xwserrorinfo']).to.match(/^ERR_TOKEN_[A-Z_]+$/);
      expect(((await res.json()) as { error: string }).error).to.equal(headers['xwserrorinfo']);
    }
  });
  it('keeps header values printable ASCII whatever the caller sent: non-Latin-1 is \\u-escaped JSON, control characters are refused', async () => {
    const token = encodeURIComponent(xst({ UserName: 'Jos\u00e9 \u2192 \u4e2d', Email: 'jose@example.com' }));
    const res = await call(`XM=${encodeURIComponent('Dok\u00fcment.\u2192Info')}&XSC=IntegratorContext&XST=${token}`);
    expect(res.status).to.equal(200);
    const data = res.headers.get('xwsreturndata') as string;
    expect(data).to.match(/^[\x20-\x7e]+$/);
    expect((JSON.parse(data) as { echo: unknown }).echo).to.deep.equal({ XM: 'Dok\u00fcment.\u2192Info' });
    const injected = await call(`XM=${encodeURIComponent('A\r\nSet-Cookie: x=1')}&XSC=IntegratorContext&XST=${token}`);
    expect(injected.status).to.equal(400);
    expect(injected.headers.get('set-cookie')).to.equal(null);
    expect(xws(injected)).to.include({ xwssuccess: '0', xwsresultcode: '400', xwsresultinfo: 'Bad Request', xwserrorinfo: 'ERR_REQUEST_INVALID' });
  });
  it('answers the example policy’s consuming side (/xdoc/demo) with the Xws headers too, in any path case', async () => {
    await h.close();
    h = await host([XDOC_POLICY], XDOC_ENV);
    const { query } = (await (await fetch(`${h.url}/xdoc/token`, { method: 'POST' })).json()) as { query: string };
    const res = await fetch(`${h.url}/XDOC/Demo?XM=Container.ContainerInfo&${query}`);
    expect(xws(res)).to.include({ xwssuccess: '1', xwsresultcode: '0' });
    const bad = await fetch(`${h.url}/xdoc/demo?XSC=MySecurityContext&XST=garbage`);
    expect(xws(bad)).to.include({ xwssuccess: '0', xwsresultcode: '403', xwserrorinfo: 'ERR_TOKEN_UNDECRYPTABLE' });
  });

  describe('keyEncoding: utf8 and ascii (a key of plain characters)', () => {
    let catalog: PolicyCatalog;
    before(async () => {
      const { registry, store } = await assemble({ modules: builtinModules });
      await store.close();
      catalog = registry;
    });
    const policy = (key: string, encoding: string) =>
      `id: k\nstyle: xdoc\nxdoc:\n  context: c\n  keys:\n    - { name: k, keySize: 256, mode: CBC, padding: PKCS7, initVector: "${IV}", ivEncoding: utf8, key: "${key}", keyEncoding: ${encoding} }\n`;
    const problems = (text: string): string[] => {
      try {
        loadPolicyText(text, 'k.yaml', { catalog, env: {} });
        return [];
      } catch (err) {
        return (err as { issues: { message: string }[] }).issues.map((i) => i.message);
      }
    };
    it('loads exactly keySize/8 bytes', () => {
      expect(problems(policy(KEY, 'utf8'))).to.deep.equal([]);
      expect(problems(policy(KEY, 'ascii'))).to.deep.equal([]);
    });
    it('refuses a key one character short or long, and a non-ASCII key as ascii, at load', () => {
      expect(problems(policy(KEY.slice(1), 'utf8'))).to.deep.equal(['key is 31 bytes as utf8; keySize 256 needs exactly 32 (no padding or cutting is done)']);
      expect(problems(policy(`${KEY}x`, 'ascii'))).to.deep.equal(['key is 33 bytes as ascii; keySize 256 needs exactly 32 (no padding or cutting is done)']);
      expect(problems(policy(`\u00e9${KEY.slice(2)}`, 'ascii'))).to.deep.equal(['key is not valid ascii']);
    });
  });
});
