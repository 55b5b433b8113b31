import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import { createApp } from '../../server/app.js';
import { requireToken, type TokenState } from '../../server/require-token.js';
import { errorMiddleware } from '../../server/error-middleware.js';
import { TrustedProxies } from '../../server/client-ip.js';
import { bootFixture, crashingFixturePolicy, EMALIDATE_POLICY, type Harness } from '../helpers/boot.js';
import { form, listen } from '../helpers/http.js';

const ADMIN = 'admin-secret-for-tests-0123456789';
const ALICE = { client_id: 'alice', client_secret: 'alice-secret-0001' };

describe('server/app createApp', () => {
  let h: Harness;
  let http: Awaited<ReturnType<typeof listen>>;
  const logged: string[] = [];
  const logger = { info() {}, warn() {}, error: (obj: object, msg?: string) => void logged.push(JSON.stringify({ ...obj, msg })) };

  async function start(trustedProxies: string[] = []): Promise<void> {
    h = await bootFixture({ policies: [crashingFixturePolicy(), EMALIDATE_POLICY] });
    http = await listen(createApp({ engine: h.engine, adminSecret: ADMIN, trustedProxies, logger }));
  }
  afterEach(async () => {
    await http.close();
    await h.store.close();
    logged.length = 0;
  });

  describe('the emalidate customer-backend route', () => {
    beforeEach(() => start());
    it('answers POST with {"token": …} and no-store', async () => {
      const res = await fetch(`${http.url}/emalidate/token`, { method: 'POST' });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8');
      expect(res.headers.get('cache-control')).to.equal('no-store');
      const body = (await res.json()) as { token: string; expires_in: number };
      expect(body.expires_in).to.equal(300);
      expect(body.token.split('.')).to.have.length(3);
      const demo = await fetch(`${http.url}/emalidate/demo`, { headers: { authorization: `Bearer ${body.token}` } });
      expect(demo.status).to.equal(200);
      expect(await demo.json()).to.deep.include({ ok: true, policy: 'emalidate', sub: 'demo-user' });
    });
    it('refuses GET with 405, an Allow header and a JSON error', async () => {
      const res = await fetch(`${http.url}/emalidate/token`);
      expect(res.status).to.equal(405);
      expect(res.headers.get('allow')).to.equal('POST');
      expect(await res.json()).to.deep.equal({ error: 'ERR_METHOD_NOT_ALLOWED', error_description: 'GET is not allowed here; use POST' });
    });
    it('answers 401 ERR_TOKEN_KID_UNKNOWN for a header kid that is a number, object, null or true, and logs no error', async () => {
      const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      for (const kid of [1, {}, null, true]) {
        const token = `${part({ alg: 'HS256', typ: 'JWT', kid })}.${part({ sub: 'x' })}.c2ln`;
        const res = await fetch(`${http.url}/emalidate/demo`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).to.equal(401);
        expect(await res.json()).to.deep.equal({ error: 'ERR_TOKEN_KID_UNKNOWN', error_description: 'the token\'s key id is not text' });
      }
      expect(logged).to.deep.equal([]);
    });
    it('refuses the protected route without a token, and with a tampered one', async () => {
      const none = await fetch(`${http.url}/emalidate/demo`);
      expect(none.status).to.equal(401);
      expect(await none.json()).to.deep.equal({ error: 'ERR_TOKEN_MISSING', error_description: 'no token presented' });
      const { token } = (await (await fetch(`${http.url}/emalidate/token`, { method: 'POST' })).json()) as { token: string };
      const [h0, p0, s0] = token.split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p0, 'base64url').toString()) as Record<string, unknown>;
      const forged = `${h0}.${Buffer.from(JSON.stringify({ ...payload, sub: 'admin' })).toString('base64url')}.${s0}`;
      const bad = await fetch(`${http.url}/emalidate/demo`, { headers: { authorization: `Bearer ${forged}` } });
      expect(bad.status).to.equal(401);
      expect(((await bad.json()) as { error: string }).error).to.equal('ERR_TOKEN_SIGNATURE');
    });
  });

  describe('host routes', () => {
    beforeEach(() => start());
    it('GET /healthz reports ok and the policy count', async () => {
      const res = await fetch(`${http.url}/healthz`);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ status: 'ok', policies: 2 });
    });
    it('answers an unknown path with 404 ERR_NOT_FOUND in JSON', async () => {
      const res = await fetch(`${http.url}/nope?x=1`);
      expect(res.status).to.equal(404);
      expect(await res.json()).to.deep.equal({ error: 'ERR_NOT_FOUND', error_description: 'no route for GET /nope' });
    });
  });

  describe('bad input', () => {
    beforeEach(() => start());
    it('refuses a body over the limit with 413 in the policy format', async () => {
      const res = await fetch(`${http.url}/fixture/token?format=text`, form({ ...ALICE, pad: 'x'.repeat(20_000) }));
      expect(res.status).to.equal(413);
      expect(await res.text()).to.equal('ERR ERR_BODY_TOO_LARGE');
    });
    it('refuses malformed JSON with 400 ERR_BODY_INVALID', async () => {
      const res = await fetch(`${http.url}/fixture/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"client_id":' });
      expect(res.status).to.equal(400);
      expect(await res.json()).to.deep.equal({ error: 'ERR_BODY_INVALID', error_description: 'request body could not be read' });
    });
    it('refuses a parameter given twice rather than guessing', async () => {
      const res = await fetch(`${http.url}/fixture/token?client_id=alice&client_id=bob&client_secret=x`);
      expect(res.status).to.equal(400);
      expect(await res.json()).to.deep.equal({ error: 'ERR_REQUEST_INVALID', error_description: 'parameter client_id must be given once, as text' });
    });
    it('hides an unexpected error: no message, no stack, logged on the server', async () => {
      const res = await fetch(`${http.url}/fixture/token?boom=1`);
      expect(res.status).to.equal(500);
      const text = await res.text();
      expect(JSON.parse(text)).to.deep.equal({ error: 'ERR_INTERNAL', error_description: 'internal error' });
      expect(text).to.not.include('kaboom');
      expect(logged.join('\n')).to.include('kaboom');
    });
  });

  describe('policy routes in the chosen reply format', () => {
    beforeEach(() => start());
    it('issues with GET and with a form POST, and renders failures in the format asked for', async () => {
      const get = await fetch(`${http.url}/fixture/token?${new URLSearchParams({ ...ALICE, format: 'text' })}`);
      expect(get.status).to.equal(200);
      expect(await get.text()).to.match(/^OK FX-[0-9a-f]{32}$/);
      const post = await fetch(`${http.url}/fixture/token`, form(ALICE));
      expect(((await post.json()) as { token: string }).token).to.match(/^FX-/);
      const wrong = await fetch(`${http.url}/fixture/token?format=text`, form({ ...ALICE, client_secret: 'bad' }));
      expect(wrong.status).to.equal(401);
      expect(await wrong.text()).to.equal('ERR ERR_CREDENTIAL_INVALID');
    });
    it('sends Retry-After with a lockout', async () => {
      for (let i = 0; i < 5; i++) await fetch(`${http.url}/fixture/token`, form({ ...ALICE, client_secret: 'bad' }));
      const res = await fetch(`${http.url}/fixture/token`, form(ALICE));
      expect(res.status).to.equal(429);
      expect(res.headers.get('retry-after')).to.equal('900');
      expect(((await res.json()) as { error: string }).error).to.equal('ERR_LOCKED_OUT');
    });
    it('sends Retry-After with a lockout through an encoder that knows nothing of headers (the error carries it)', async () => {
      for (let i = 0; i < 5; i++) await fetch(`${http.url}/fixture/token?format=text`, form({ ...ALICE, client_secret: 'bad' }));
      const res = await fetch(`${http.url}/fixture/token?format=text`, form(ALICE));
      expect(res.status).to.equal(429);
      expect(res.headers.get('retry-after')).to.equal('900');
      expect(await res.text()).to.equal('ERR ERR_LOCKED_OUT');
    });
  });

  describe('POST /introspect and POST /revoke', () => {
    beforeEach(() => start());
    const admin = (params: Record<string, string>, secret = ADMIN) => {
      const init = form(params);
      return { ...init, headers: { ...init.headers, authorization: `Bearer ${secret}` } };
    };
    it('refuses callers without the admin secret', async () => {
      for (const init of [form({ token: 'x' }), admin({ token: 'x' }, 'wrong')]) {
        const res = await fetch(`${http.url}/introspect`, init);
        expect(res.status).to.equal(401);
        expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="tokensmith-admin"');
        expect(((await res.json()) as { error: string }).error).to.equal('ERR_ADMIN_UNAUTHORIZED');
      }
    });
    it('introspects, revokes, and the revoked token is refused by the protected route', async () => {
      const { token } = (await (await fetch(`${http.url}/emalidate/token`, { method: 'POST' })).json()) as { token: string };
      const before = (await (await fetch(`${http.url}/introspect`, admin({ token }))).json()) as Record<string, unknown>;
      expect(before).to.include({ active: true, policy: 'emalidate', sub: 'demo-user', iss: 'emalidate.com' });
      const revoked = await fetch(`${http.url}/revoke`, admin({ token }));
      expect(revoked.status).to.equal(200);
      expect(await (await fetch(`${http.url}/introspect`, admin({ token }))).json()).to.deep.equal({ active: false });
      const res = await fetch(`${http.url}/emalidate/demo`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).to.equal(401);
      expect(await res.json()).to.deep.equal({ error: 'ERR_TOKEN_REVOKED', error_description: 'the token was revoked' });
    });
    it('answers 200 to revoking something that is not a token (RFC 7009) and 400 without a token', async () => {
      expect((await fetch(`${http.url}/revoke`, admin({ token: 'garbage' }))).status).to.equal(200);
      const res = await fetch(`${http.url}/revoke`, admin({}));
      expect(res.status).to.equal(400);
      expect(await res.json()).to.deep.equal({ error: 'ERR_REQUEST_INVALID', error_description: 'parameter token is required' });
    });
  });

  describe('client address', () => {
    async function boundTo(ip: string): Promise<string> {
      const res = await fetch(`${http.url}/fixture/token`, form({ ...ALICE, IP: ip }));
      return ((await res.json()) as { token: string }).token;
    }
    const call = (token: string, headers: Record<string, string> = {}) =>
      fetch(`${http.url}/fixture/protected?token=${token}`, { headers });

    it('believes X-Forwarded-For only from a trusted proxy, read right to left', async () => {
      await start(['127.0.0.1']);
      const token = await boundTo('203.0.113.5');
      expect((await call(token, { 'x-forwarded-for': '203.0.113.5' })).status).to.equal(200);
      expect((await call(token, { 'x-forwarded-for': '203.0.113.5, 127.0.0.1' })).status).to.equal(200);
      const spoofed = await call(token, { 'x-forwarded-for': '203.0.113.5, 198.51.100.1' });
      expect(spoofed.status).to.equal(403);
      expect(((await spoofed.json()) as { error: string }).error).to.equal('ERR_TOKEN_IP_MISMATCH');
    });
    it('ignores X-Forwarded-For when the peer is not a trusted proxy', async () => {
      await start([]);
      const token = await boundTo('203.0.113.5');
      expect((await call(token, { 'x-forwarded-for': '203.0.113.5' })).status).to.equal(403);
      const own = await boundTo('127.0.0.1');
      expect((await call(own)).status).to.equal(200);
    });
  });
});

describe('server/require-token requireToken', () => {
  it('protects a host’s own route in its own Koa app, leaving the record in ctx.state.token', async () => {
    const h = await bootFixture();
    const app = new Koa();
    const router = new Router();
    router.get('/orders', requireToken(h.engine, 'fixture', { trustedProxies: new TrustedProxies([]) }), (ctx) => {
      ctx.body = { customer: (ctx.state as TokenState).token?.credentialId };
    });
    app.use(errorMiddleware(h.engine, { info() {}, warn() {}, error() {} }));
    app.use(router.routes());
    const http = await listen(app);
    try {
      const { token } = await h.engine.issue('fixture', { param: (n) => ({ client_id: 'alice', client_secret: 'alice-secret-0001' })[n], clientAddress: '127.0.0.1' });
      const ok = await fetch(`${http.url}/orders`, { headers: { authorization: `Bearer ${token}` } });
      expect(await ok.json()).to.deep.equal({ customer: 'alice' });
      const refused = await fetch(`${http.url}/orders?format=text`, { headers: { authorization: 'Bearer FX-0000' } });
      expect(refused.status).to.equal(401);
      expect(await refused.text()).to.equal('ERR ERR_TOKEN_UNKNOWN');
    } finally {
      await http.close();
      await h.store.close();
    }
  });
});
