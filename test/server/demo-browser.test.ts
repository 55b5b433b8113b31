import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_SECRET } from '../helpers/host.js';
import { serveChild, type ServeChild } from '../helpers/serve-child.js';

/** The Debian package's browser; playwright-core never downloads one here. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const LICENCE = 'melissa-browser-licence-5e0b7f3a91';
const TOKEN = /^T:[A-Za-z0-9_-]{32}$/;
/** Every bounded wait in this file. */
const WAIT_MS = 10_000;

/** Each request and response the browser made, with headers and bodies. */
interface Exchange {
  url: string;
  method: string;
  requestHeaders: Record<string, string>;
  requestBody: string;
  status: number;
  responseHeaders: Record<string, string>;
  responseBody: string;
}

/** Records the page's traffic; `done()` waits for every body to be read. */
function record(page: Page): { exchanges: Exchange[]; done(): Promise<void> } {
  const exchanges: Exchange[] = [];
  const pending: Promise<void>[] = [];
  page.on('response', (response) => {
    pending.push(
      (async () => {
        const request = response.request();
        exchanges.push({
          url: request.url(),
          method: request.method(),
          requestHeaders: await request.allHeaders(),
          requestBody: request.postData() ?? '',
          status: response.status(),
          responseHeaders: await response.allHeaders(),
          responseBody: (await response.body()).toString('utf8'),
        });
      })(),
    );
  });
  page.on('requestfailed', (request) => {
    pending.push(Promise.reject(new Error(`request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`)));
  });
  return { exchanges, done: async () => void (await Promise.all(pending)) };
}

describe('server/demo in headless Chromium (the Melissa browser flow, end to end)', function () {
  this.timeout(60_000);
  let browser: Browser;
  let host: ServeChild;
  let context: BrowserContext;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: the browser tests drive Debian's Chromium. Install it with \`apt-get install -y chromium\` (.ci/run does this on CI).`);
    }
    host = await serveChild(['--host', '127.0.0.1', '--demo', '--policies', 'policies', '--store', 'memory'], {
      MELISSA_LICENSE: LICENCE,
      TOKENSMITH_ADMIN_SECRET: ADMIN_SECRET,
      TOKENSMITH_TRUSTED_PROXIES: '127.0.0.1',
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
    if (host !== undefined) {
      host.child.kill('SIGTERM');
      expect(await host.exited, 'tokensmith serve exits 0 on SIGTERM').to.equal(0);
    }
  });
  beforeEach(async () => {
    context = await browser.newContext();
    context.setDefaultTimeout(WAIT_MS);
  });
  afterEach(() => context.close());

  const introspect = async (token: string) =>
    (await (
      await fetch(`${host.url}/introspect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_SECRET}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      })
    ).json()) as Record<string, unknown>;
  const service = async (token: string, headers: Record<string, string> = {}) =>
    (await (await fetch(`${host.url}/melissa/demo/ExpressFreeForm?${new URLSearchParams({ id: token })}`, { headers })).json()) as Record<string, unknown>;

  /** Opens the page, clicks the button, and waits (bounded) for the flow to finish. */
  async function runFlow(page: Page): Promise<void> {
    const res = await page.goto(`${host.url}/demo/melissa`, { waitUntil: 'load' });
    expect(res?.status()).to.equal(200);
    await page.locator('#run').click();
    await page.locator('#demo:not([data-outcome="idle"]):not([data-outcome="busy"])').waitFor({ state: 'attached' });
  }

  it('gets a token from the same origin, calls the protected service with it, and shows the package', async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const traffic = record(page);

    await runFlow(page);

    expect(await page.locator('#status').textContent()).to.equal('The service accepted the token.');
    expect(await page.locator('#demo').getAttribute('data-outcome')).to.equal('ok');
    const shown = JSON.parse((await page.locator('#result').textContent()) ?? '') as Record<string, unknown>;
    expect(shown).to.deep.include({ ok: true, policy: 'melissa', scope: ['pkgExpressEntry'] });
    const token = (await page.locator('#token').textContent()) ?? '';
    expect(token).to.match(TOKEN);

    await traffic.done();
    const { exchanges } = traffic;
    const paths = exchanges.map((e) => `${e.method} ${new URL(e.url).pathname}`);
    expect(paths).to.include.members([
      'GET /demo/melissa', 'GET /demo/melissa/app.js', 'POST /melissa/gettoken', 'GET /melissa/demo/ExpressFreeForm',
    ]);
    for (const e of exchanges) expect(new URL(e.url).origin, e.url).to.equal(host.url);
    // The token the page shows is the one the helper gave the browser, and the one it sent to the service.
    const helper = exchanges.find((e) => e.url.endsWith('/melissa/gettoken'));
    expect(helper?.requestBody).to.equal('function=gettoken');
    expect(JSON.parse(helper?.responseBody ?? '')).to.deep.equal([{ token }]);
    const call = exchanges.find((e) => new URL(e.url).pathname === '/melissa/demo/ExpressFreeForm');
    expect(new URL(call?.url ?? host.url).searchParams.get('id')).to.equal(token);

    // No licence anywhere in the browser: not in the page source, not in any URL, header or body.
    const everything = JSON.stringify(exchanges);
    expect(everything, 'the recording holds the token, so it does hold bodies and URLs').to.include(token);
    for (const form of [LICENCE, encodeURIComponent(LICENCE), Buffer.from(LICENCE).toString('base64')]) {
      expect(everything).to.not.include(form);
      expect(await page.content()).to.not.include(form);
    }
    const html = exchanges.find((e) => new URL(e.url).pathname === '/demo/melissa')?.responseBody ?? '';
    const script = exchanges.find((e) => new URL(e.url).pathname === '/demo/melissa/app.js')?.responseBody ?? '';
    expect(html).to.include('<main id="demo"');
    expect(script).to.include('gettoken');
    expect(html + script).to.not.include(LICENCE);
    // The page ran under its CSP without a single violation or script error.
    expect(problems).to.deep.equal([]);

    // The token is bound to the browser's address: usable from 127.0.0.1, refused elsewhere with GE13.
    expect(await introspect(token)).to.include({ active: true, policy: 'melissa', bound_ip: '127.0.0.1', scope: 'pkgExpressEntry' });
    expect(await service(token)).to.deep.include({ ok: true, scope: ['pkgExpressEntry'] });
    expect(await service(token, { 'x-forwarded-for': '203.0.113.7' })).to.deep.equal({ Version: 'tokensmith', ResultCode: 'GE13', Results: [] });

    expect(host.text()).to.not.include(LICENCE);
  });

  it('shows the service’s refusal when the token is revoked before the call', async () => {
    const page = await context.newPage();
    // Revoke each token as it leaves the helper, before the page can use it (the admin call is made from here, not the page).
    await page.route('**/melissa/gettoken', async (route) => {
      const response = await route.fetch();
      const [{ token }] = (await response.json()) as [{ token: string }];
      const revoked = await fetch(`${host.url}/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_SECRET}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      expect(revoked.status).to.equal(200);
      await route.fulfill({ response });
    });

    await runFlow(page);

    expect(await page.locator('#demo').getAttribute('data-outcome')).to.equal('refused');
    expect(await page.locator('#status').textContent()).to.equal('The service refused the token (GE05).');
    expect(JSON.parse((await page.locator('#result').textContent()) ?? '')).to.deep.equal({ Version: 'tokensmith', ResultCode: 'GE05', Results: [] });
  });

  it('enforces the CSP in the browser: Trusted Types refuse script text, and script-src refuses inline scripts', async () => {
    const page = await context.newPage();
    await page.goto(`${host.url}/demo/melissa`, { waitUntil: 'load' });
    const outcome = await page.evaluate(`(() => {
      const result = {};
      const plain = document.createElement('script');
      try { plain.text = 'window.__plain = true'; result.trustedTypes = 'allowed'; } catch { result.trustedTypes = 'refused'; }
      // A Trusted Types policy gets past the first layer; script-src 'self' must still stop the inline script.
      const policy = trustedTypes.createPolicy('test', { createScript: (s) => s });
      const inline = document.createElement('script');
      inline.text = policy.createScript('window.__inline = true');
      document.body.append(inline);
      result.inlineScript = window.__inline === true ? 'ran' : 'refused';
      return result;
    })()`);
    expect(outcome).to.deep.equal({ trustedTypes: 'refused', inlineScript: 'refused' });
  });
});
