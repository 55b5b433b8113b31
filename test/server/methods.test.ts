import { expect } from 'chai';
import { request } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import { createApp } from '../../server/app.js';
import { errorMiddleware } from '../../server/error-middleware.js';
import { boot } from '../../server/bootstrap.js';
import { bootFixture, type Harness } from '../helpers/boot.js';
import { listen } from '../helpers/http.js';

interface Answer {
  status: number;
  allow: string | undefined;
  body: string;
}

/** Any method, as `fetch` refuses TRACE and friends. */
function send(url: string, method: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('server/methods refuseMethods (over HTTP)', () => {
  let h: Harness;
  let http: Awaited<ReturnType<typeof listen>>;
  const errors: unknown[] = [];
  const logger = { info() {}, warn() {}, error: (line: object) => void errors.push(line) };

  before(async () => {
    h = await bootFixture();
    http = await listen(createApp({ engine: h.engine, adminSecret: 'admin-secret-for-tests-0123456789', logger }));
  });
  after(async () => {
    await http.close();
    await h.store.close();
  });
  // A method is the caller's mistake: never an error line in the log.
  const noErrorLines = () => expect(errors.splice(0)).to.deep.equal([]);

  describe('having a method tokensmith serves nowhere (TRACE, PROPFIND, M-SEARCH, …)', () => {
    for (const method of ['TRACE', 'PROPFIND', 'M-SEARCH', 'MKCOL', 'PURGE']) {
      it(`answers ${method} on a path no route serves with 405, the served methods in Allow, and a JSON error`, async () => {
        const answer = await send(http.url, method, '/no/such/path');
        expect(answer).to.deep.equal({
          status: 405,
          allow: 'GET, HEAD, OPTIONS, POST',
          body: JSON.stringify({ error: 'ERR_METHOD_NOT_ALLOWED', error_description: `${method} is not allowed here; use GET or HEAD or OPTIONS or POST` }),
        });
        noErrorLines();
      });
    }
    it('answers it on the health, metrics and admin routes with 405 and their own Allow', async () => {
      expect(await send(http.url, 'TRACE', '/healthz')).to.include({ status: 405, allow: 'HEAD, GET' });
      expect(await send(http.url, 'PROPFIND', '/metrics')).to.include({ status: 405, allow: 'HEAD, GET' });
      expect(await send(http.url, 'M-SEARCH', '/introspect')).to.include({ status: 405, allow: 'POST' });
      noErrorLines();
    });
    it('answers it on a policy route with 405 in the policy’s format and the route’s Allow', async () => {
      const answer = await send(http.url, 'TRACE', '/emalidate/token');
      expect(answer).to.deep.equal({
        status: 405, allow: 'POST', body: JSON.stringify({ error: 'ERR_METHOD_NOT_ALLOWED', error_description: 'TRACE is not allowed here; use POST' }),
      });
      noErrorLines();
    });
  });

  describe('having a method tokensmith knows', () => {
    it('answers it on a served path that does not allow it with 405 and Allow', async () => {
      expect(await send(http.url, 'PUT', '/healthz')).to.deep.equal({
        status: 405, allow: 'HEAD, GET', body: JSON.stringify({ error: 'ERR_METHOD_NOT_ALLOWED', error_description: 'PUT is not allowed here; use HEAD or GET' }),
      });
      expect(await send(http.url, 'DELETE', '/revoke')).to.include({ status: 405, allow: 'POST' });
      expect(await send(http.url, 'GET', '/introspect')).to.include({ status: 405, allow: 'POST' });
      noErrorLines();
    });
    it('answers it on a path no route serves with 404', async () => {
      expect(await send(http.url, 'PUT', '/no/such/path')).to.deep.equal({
        status: 404, allow: undefined, body: JSON.stringify({ error: 'ERR_NOT_FOUND', error_description: 'no route for PUT /no/such/path' }),
      });
      noErrorLines();
    });
    it('answers OPTIONS on a served admin path with its Allow', async () => {
      expect(await send(http.url, 'OPTIONS', '/healthz')).to.deep.equal({ status: 200, allow: 'HEAD, GET', body: '' });
      noErrorLines();
    });
  });
});

describe('server/app HEAD on policy routes (over HTTP)', () => {
  let booted: Awaited<ReturnType<typeof boot>>;
  let http: Awaited<ReturnType<typeof listen>>;
  before(async () => {
    booted = await boot({ policies: ['policies/melissa.yaml', 'policies/electa.yaml'], store: 'memory', env: {} });
    http = await listen(createApp({ engine: booted.engine }));
  });
  after(async () => {
    await http.close();
    await booted.store.close();
  });

  it('answers HEAD on an informational route as GET, with no body', async () => {
    const get = await send(http.url, 'GET', '/v3/web/Service.svc/getversion');
    expect(get.status).to.equal(200);
    expect(get.body).to.contain('tokenServerVersion');
    expect(await send(http.url, 'HEAD', '/v3/web/Service.svc/getversion')).to.deep.equal({ status: 200, allow: undefined, body: '' });
    // Melissa answers its refusals with 200 and a result code (TE07: method not allowed), as the vendor does.
    expect(await send(http.url, 'PUT', '/v3/web/Service.svc/getversion')).to.deep.equal({ status: 200, allow: 'GET, HEAD', body: '{"Result":"TE07","Token":""}' });
  });
  it('refuses HEAD on a token route that takes GET: a HEAD would spend an attempt for no reply', async () => {
    const path = '/apps/token.asp?CID=123456&AppKey=UO86CN11XY73SF72TT40PG18ZE76VV71';
    // Electa's refusal (status 200, as the vendor answers): the Allow header is the refusal's, an issue sets none.
    expect(await send(http.url, 'HEAD', path)).to.deep.equal({ status: 200, allow: 'GET, POST', body: '' });
    expect(await send(http.url, 'GET', `${path.replace('/apps/', '/Apps/')}&Result=csv`)).to.include({ allow: undefined });
    expect((await send(http.url, 'GET', path)).body).to.contain('<ResponseCode>0</ResponseCode>');
  });
});

describe('server/error-middleware with a host’s own router', () => {
  it('renders the router’s 501 (a method it implements nowhere) as 405, not as an internal error', async () => {
    const h = await bootFixture();
    const errors: unknown[] = [];
    const app = new Koa();
    const router = new Router();
    router.get('/orders', (ctx) => void (ctx.body = []));
    app.use(errorMiddleware(h.engine, { info() {}, warn() {}, error: (line: object) => void errors.push(line) }));
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
    const http = await listen(app);
    try {
      const answer = await send(http.url, 'PROPFIND', '/orders');
      expect(answer).to.include({ status: 405 });
      expect(JSON.parse(answer.body)).to.deep.equal({ error: 'ERR_METHOD_NOT_ALLOWED', error_description: 'method not allowed' });
      expect(errors).to.deep.equal([]);
    } finally {
      await http.close();
      await h.store.close();
    }
  });
});
