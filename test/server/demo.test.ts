import { expect } from 'chai';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp } from '../../server/app.js';
import { listen } from '../helpers/http.js';

const LICENCE = 'melissa-demo-http-licence-7d41c09b';
const CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'";

describe('server/demo melissaDemo (GET /demo/melissa)', () => {
  let booted: Booted;
  let server: Awaited<ReturnType<typeof listen>> | undefined;
  const serve = async (policies: string[], demo: boolean | undefined) => {
    booted = await boot({ policies, store: 'memory', env: { MELISSA_LICENSE: LICENCE } });
    server = await listen(createApp({ engine: booted.engine, ...(demo === undefined ? {} : { demo }) }));
    return server.url;
  };
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await booted.store.close();
  });

  describe('having the demo off (the default)', () => {
    for (const demo of [undefined, false]) {
      it(`answers 404 ERR_NOT_FOUND for the page and its script (demo: ${demo})`, async () => {
        const url = await serve(['policies/melissa.yaml'], demo);
        for (const path of ['/demo/melissa', '/demo/melissa/app.js']) {
          const res = await fetch(`${url}${path}`);
          expect(res.status, path).to.equal(404);
          expect(await res.json()).to.deep.equal({ error: 'ERR_NOT_FOUND', error_description: `no route for GET ${path}` });
        }
      });
    }
  });

  describe('having the demo on', () => {
    it('serves the page with a strict CSP, no-store, and the policy’s helper and service routes', async () => {
      const url = await serve(['policies/melissa.yaml'], true);
      const res = await fetch(`${url}/demo/melissa`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).to.equal(CSP);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(res.headers.get('referrer-policy')).to.equal('no-referrer');
      const html = await res.text();
      expect(html).to.include('<main id="demo" data-token-url="/melissa/gettoken" data-service-url="/melissa/demo/ExpressFreeForm" data-outcome="idle">');
      expect(html).to.include('<script src="/demo/melissa/app.js" defer></script>');
      expect(html).to.not.match(/\{\{|<script>|\son\w+=|style=/);
      expect(html).to.not.include(LICENCE);
    });
    it('serves the script as JavaScript under the same headers, without the licence', async () => {
      const url = await serve(['policies/melissa.yaml'], true);
      const res = await fetch(`${url}/demo/melissa/app.js`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('text/javascript; charset=utf-8');
      expect(res.headers.get('content-security-policy')).to.equal(CSP);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      const script = await res.text();
      expect(script).to.include("body: new URLSearchParams({ function: 'gettoken' })");
      expect(script).to.not.include(LICENCE);
    });
    it('answers HEAD like GET without a body, and leaves other methods to the 404', async () => {
      const url = await serve(['policies/melissa.yaml'], true);
      const head = await fetch(`${url}/demo/melissa`, { method: 'HEAD' });
      expect(head.status).to.equal(200);
      expect(head.headers.get('content-security-policy')).to.equal(CSP);
      expect(await head.text()).to.equal('');
      const post = await fetch(`${url}/demo/melissa`, { method: 'POST' });
      expect(post.status).to.equal(404);
      expect(((await post.json()) as { error: string }).error).to.equal('ERR_NOT_FOUND');
    });
    it('answers 404 ERR_NOT_FOUND, saying why, while no Melissa policy with a helper is served', async () => {
      const url = await serve(['policies/emalidate.yaml'], true);
      const res = await fetch(`${url}/demo/melissa`);
      expect(res.status).to.equal(404);
      expect(await res.json()).to.deep.equal({
        error: 'ERR_NOT_FOUND',
        error_description: 'the Melissa demo needs a melissa policy with a gettoken route and a protected GET route',
      });
      expect((await fetch(`${url}/emalidate/token`, { method: 'POST' })).status).to.equal(200);
    });
  });
});
