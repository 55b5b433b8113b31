import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp } from '../../server/app.js';
import { createHost, type Host } from '../../examples/koa-host/host.js';
import { listen, listeningUrl } from '../helpers/http.js';

/**
 * The outside examples are packages of their own (each has a package.json), so `tokensmith`
 * resolves from their node_modules: linked here to this repository, as `npm link tokensmith`
 * (or installing them beside tokensmith in a host project) does.
 */
function linkTokensmith(folder: string): void {
  const link = join(folder, 'node_modules', 'tokensmith');
  if (existsSync(link)) return;
  mkdirSync(join(folder, 'node_modules'), { recursive: true });
  symlinkSync(resolve('.'), link, 'dir');
}

const ENV = { EMALIDATE_SECRET: 'example-host-secret-0123456789abcdef' };

describe('examples/', () => {
  before(() => {
    linkTokensmith('examples/outside-style');
    linkTokensmith('examples/outside-encoder');
  });

  describe('koa-host: a Koa app of its own protecting its routes with requireToken (no tokensmith error middleware)', () => {
    let host: Host;
    let http: Awaited<ReturnType<typeof listen>>;
    before(async () => {
      host = await createHost({ policies: ['policies/emalidate.yaml'], env: ENV });
      http = await listen(host.app);
    });
    after(async () => {
      await http.close();
      await host.close();
    });

    it('lets a valid token through, with ctx.state.token', async () => {
      const { token } = (await (await fetch(`${http.url}/login`, { method: 'POST' })).json()) as { token: string };
      const res = await fetch(`${http.url}/orders`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.include({ orders: [{ id: 1, item: 'tea' }], for: 'demo-user' });
    });
    it('refuses a missing token with 401 JSON and a bare Bearer challenge', async () => {
      const res = await fetch(`${http.url}/orders`);
      expect(res.status).to.equal(401);
      expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8');
      expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="emalidate"');
      expect(await res.json()).to.deep.equal({ error: 'ERR_TOKEN_MISSING', error_description: 'no token presented' });
    });
    it('refuses a changed token with 401 JSON and error="invalid_token" (RFC 6750)', async () => {
      const { token } = (await (await fetch(`${http.url}/login`, { method: 'POST' })).json()) as { token: string };
      const res = await fetch(`${http.url}/orders`, { headers: { authorization: `Bearer ${changedSignature(token)}` } });
      expect(res.status).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="emalidate", error="invalid_token", error_description="ERR_TOKEN_SIGNATURE"');
      expect(await res.json()).to.deep.equal({ error: 'ERR_TOKEN_SIGNATURE', error_description: 'signature verification failed' });
    });
    it('runs as a program (dist/examples/koa-host/main.js)', async () => {
      const child = spawn(process.execPath, ['dist/examples/koa-host/main.js'], { env: { PATH: process.env['PATH'] ?? '', PORT: '0', ...ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const url = await listeningUrl(child);
        const res = await fetch(`${url}/orders`);
        expect([res.status, ((await res.json()) as { error: string }).error]).to.deep.equal([401, 'ERR_TOKEN_MISSING']);
      } finally {
        child.kill('SIGTERM');
      }
    });
  });

  describe('outside-style: a token style as its own package, built with definePlugin', () => {
    it('passes the conformance kit (node check.mjs, as its author runs it)', () => {
      const ran = spawnSync(process.execPath, ['check.mjs'], { cwd: 'examples/outside-style', encoding: 'utf8', timeout: 60_000 });
      expect(ran.stderr).to.equal('');
      expect(ran.stdout).to.match(/^conformance: all \d+ checks passed\n$/);
      expect(ran.status).to.equal(0);
    });
    it('is served by the host when loaded by path', async () => {
      const booted = await boot({ policies: ['examples/outside-style/stamp.yaml'], plugins: ['examples/outside-style/index.mjs'], env: {} });
      const http = await listen(createApp({ engine: booted.engine }));
      try {
        const body = 'client_id=shop&client_secret=shop-secret-change-me-0001&scope=read';
        const issued = await fetch(`${http.url}/stamp/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
        const { token } = (await issued.json()) as { token: string };
        expect(token).to.match(/^STAMP-[0-9a-f]{48}$/);
        const checked = await fetch(`${http.url}/stamp/check?stamp=${token}`);
        expect(await checked.json()).to.deep.include({ ok: true, policy: 'stamp', scope: ['read'] });
        const bad = await fetch(`${http.url}/stamp/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `${body}%20READ` });
        expect(await bad.json()).to.deep.equal({ error: 'ERR_REQUEST_INVALID', error_description: 'parameter scope must be lower-case words' });
      } finally {
        await http.close();
        await booted.store.close();
      }
    });
  });

  describe('outside-encoder: a reply format as its own package', () => {
    let booted: Booted;
    let http: Awaited<ReturnType<typeof listen>>;
    before(async () => {
      booted = await boot({ policies: ['examples/outside-encoder/kv.yaml'], plugins: ['examples/outside-encoder/index.mjs'], env: {} });
      http = await listen(createApp({ engine: booted.engine }));
    });
    after(async () => {
      await http.close();
      await booted.store.close();
    });

    it('renders a token, whose sub is the credential id (the policy names no subject), as key=value lines', async () => {
      const res = await fetch(`${http.url}/kv/token?client_id=app&client_secret=kv-app-secret-change-me-01`);
      expect(res.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
      const text = await res.text();
      expect(text).to.match(/^token=eyJ[\w-]+\.[\w-]+\.[\w-]+\nexpires_in=300\n$/);
      const token = /^token=(\S+)/.exec(text)?.[1] as string;
      const checked = await fetch(`${http.url}/kv/check`, { headers: { authorization: `Bearer ${token}` } });
      expect(await checked.json()).to.deep.include({ ok: true, policy: 'emalidate-kv', sub: 'app' });
    });
    it('renders refusals and a lockout with Retry-After', async () => {
      const wrong = () => fetch(`${http.url}/kv/token?client_id=app&client_secret=nope`);
      const first = await wrong();
      expect([first.status, await first.text()]).to.deep.equal([401, 'error=ERR_CREDENTIAL_INVALID\nerror_description=invalid credential\n']);
      await wrong();
      await wrong();
      const locked = await wrong();
      expect(locked.status).to.equal(429);
      expect(locked.headers.get('retry-after')).to.match(/^\d+$/);
      expect(await locked.text()).to.match(/^error=ERR_LOCKED_OUT\n/);
    });
  });
});

/** The token with one signature character changed where all six of its bits count, so the signature stays canonical base64url. */
function changedSignature(token: string): string {
  const at = token.length - 10;
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
}
