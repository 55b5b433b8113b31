import { expect } from 'chai';
import { CryptoRandom } from '../../core/random.js';
import { KeySet } from '../../plugins/xdoc/cipher.js';
import { adminPost, formPost, host, type Host } from '../helpers/host.js';
import { seal, VECTOR_GENDT, VECTOR_TOKENS, XDOC_ENV, XDOC_POLICY, xst } from '../helpers/xdoc.js';

interface Minted {
  XSC: string;
  XST: string;
  XUT: string;
  query: string;
  expires_in: number;
}

describe('XDOC over HTTP (policies/xdoc.yaml on a loopback port)', () => {
  let h: Host;
  beforeEach(async () => {
    h = await host([XDOC_POLICY], XDOC_ENV);
  });
  afterEach(() => h.close());
  const mint = async (): Promise<Minted> => (await (await fetch(`${h.url}/xdoc/token`, { method: 'POST' })).json()) as Minted;

  describe('POST /xdoc/token', () => {
    it('answers the XST and XUT in Base64, the URL-encoded query, and no-store', async () => {
      const res = await fetch(`${h.url}/xdoc/token`, { method: 'POST' });
      expect(res.status).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      const body = (await res.json()) as Minted;
      expect(Object.keys(body)).to.deep.equal(['XSC', 'XST', 'XUT', 'query', 'expires_in']);
      expect(body).to.include({ XSC: 'MySecurityContext', expires_in: 330 }); // maxAge + clockSkew
      expect(body.XST).to.match(/^(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
      expect(body.query).to.equal(new URLSearchParams({ XSC: body.XSC, XST: body.XST, XUT: body.XUT }).toString());
    });
    it('answers just the query string with format=query, and refuses GET', async () => {
      const res = await fetch(`${h.url}/xdoc/token?format=query`, { method: 'POST' });
      expect(res.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
      expect(await res.text()).to.match(/^XSC=MySecurityContext&XST=[A-Za-z0-9%]+&XUT=[A-Za-z0-9%]+$/);
      const get = await fetch(`${h.url}/xdoc/token`);
      expect(get.status).to.equal(405);
      expect(await get.json()).to.deep.equal({ error: 'ERR_METHOD_NOT_ALLOWED', error_description: 'GET is not allowed here; use POST' });
    });
  });

  describe('the receiving side, GET /xdoc/demo (requireToken)', () => {
    it('lets the minted query through, with the user from the XUT', async () => {
      const { query } = await mint();
      const res = await fetch(`${h.url}/xdoc/demo?${query}`);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ ok: true, policy: 'xdoc', sub: 'demo-user', scope: [], exp: Math.floor((h.clock.now() + 330_000) / 1000) });
    });
    it('accepts raw Base64 in a query, whose + a form decoder turns into spaces, and a form POST', async () => {
      let { XST } = await mint();
      for (let i = 0; i < 20 && !XST.includes('+'); i++) ({ XST } = await mint());
      expect(XST).to.include('+');
      const raw = await fetch(`${h.url}/xdoc/demo?XSC=MySecurityContext&XST=${XST}`);
      expect(raw.status).to.equal(200);
      const posted = await fetch(`${h.url}/xdoc/demo`, formPost({ XSC: 'MySecurityContext', XST }));
      expect((await posted.json()) as object).to.include({ sub: 'tokensmith-demo' });
    });
    it('lets an openssl-made token through (GenDT with an offset, the seed’s indentation)', async () => {
      h.clock.set(VECTOR_GENDT + 5_000);
      const res = await fetch(`${h.url}/xdoc/demo?${new URLSearchParams({ XSC: 'MySecurityContext', XST: VECTOR_TOKENS.base64['xst-xml-offset'] as string })}`);
      expect((await res.json()) as object).to.include({ sub: 'MyAppId' });
    });

    it('gives one and the same reply for every failure to decrypt: no padding oracle', async () => {
      const policy = h.engine.policy('xdoc');
      const otherKey = new KeySet({ name: 'x', keySize: 256, mode: 'CBC', padding: 'PKCS7', initVector: '@1B2c3D4', key: 'ee'.repeat(32) }, new CryptoRandom());
      const { XST } = await mint();
      const bytes = Buffer.from(XST, 'base64');
      const lastBlockFlipped = Buffer.from(bytes);
      lastBlockFlipped[bytes.length - 17] = (lastBlockFlipped[bytes.length - 17] as number) ^ 1; // changes the padding byte
      const failures: Record<string, string> = {
        'bad padding': lastBlockFlipped.toString('base64'),
        'wrong key': otherKey.encrypt(Buffer.from(xst({ Context: 'MySecurityContext', AppId: 'a', GenDT: '20260101T000000' }))).toString('base64'),
        'valid padding, not a token inside': seal(policy, 'this is no token at all'),
        truncated: XST.slice(0, -4),
        'cut to a block': bytes.subarray(0, 16).toString('base64'),
        'not Base64': 'not*base64!',
        'bad %-escape': '%E0%A4%A',
        'too long': 'A'.repeat(9000),
        'XML with a DOCTYPE': seal(policy, '<!DOCTYPE t [<!ENTITY x "y">]><SecurityToken><Context>&x;</Context></SecurityToken>'),
      };
      const replies = new Set<string>();
      for (const [name, token] of Object.entries(failures)) {
        const res = await fetch(`${h.url}/xdoc/demo`, formPost({ XSC: 'MySecurityContext', XST: token }));
        const headers = [...res.headers].filter(([k]) => k !== 'date' && k !== 'connection' && k !== 'keep-alive');
        replies.add(JSON.stringify({ status: res.status, headers, body: await res.text() }));
        expect(replies.size, name).to.equal(1);
      }
      expect(JSON.parse([...replies][0] as string)).to.deep.include({
        status: 401,
        body: '{"error":"ERR_TOKEN_UNDECRYPTABLE","error_description":"the token cannot be decrypted"}',
      });
    });

    it('answers JSON errors with stable codes for the other refusals', async () => {
      const { XST } = await mint();
      const cases: [string, number, string][] = [
        [`XSC=Other&XST=${encodeURIComponent(XST)}`, 403, 'ERR_TOKEN_CONTEXT_MISMATCH'],
        [`XST=${encodeURIComponent(XST)}`, 400, 'ERR_REQUEST_INVALID'],
        ['XSC=MySecurityContext', 401, 'ERR_TOKEN_MISSING'],
        [`XSC=MySecurityContext&XST=${encodeURIComponent(XST)}&XUT=AAAA`, 401, 'ERR_TOKEN_UNDECRYPTABLE'],
      ];
      for (const [query, status, code] of cases) {
        const res = await fetch(`${h.url}/xdoc/demo?${query}`);
        expect(res.status, code).to.equal(status);
        expect(((await res.json()) as { error: string }).error).to.equal(code);
      }
      h.clock.advance(330_001);
      const late = await fetch(`${h.url}/xdoc/demo?XSC=MySecurityContext&XST=${encodeURIComponent(XST)}`);
      expect(await late.json()).to.deep.equal({ error: 'ERR_TOKEN_EXPIRED', error_description: "the token is older than the policy's maxAge" });
    });

    it('stops a token that /revoke revoked, which /introspect described', async () => {
      const { XST, query } = await mint();
      const seen = (await (await fetch(`${h.url}/introspect`, adminPost({ token: XST, policy: 'xdoc' }))).json()) as Record<string, unknown>;
      expect(seen).to.include({ active: true, policy: 'xdoc', token_type: 'xdoc', sub: 'tokensmith-demo' });
      expect((await fetch(`${h.url}/revoke`, adminPost({ token: XST }))).status).to.equal(200);
      const after = await fetch(`${h.url}/xdoc/demo?${query}`);
      expect(after.status).to.equal(401);
      expect(((await after.json()) as { error: string }).error).to.equal('ERR_TOKEN_REVOKED');
    });
  });
});
