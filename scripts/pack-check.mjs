#!/usr/bin/env node
// The package as a newcomer gets it: `npm pack`, installed into a fresh project with nothing
// but npm's cache (offline), then used the way the README says: `npx tokensmith --version`,
// `check` and `serve` on the example policies inside the installed package, and a Koa host of
// its own that imports `tokensmith/server` and protects a route — run as JavaScript and
// type-checked as strict TypeScript against the package's own `types`.
//
// Offline: `npm ci` in this repository put every dependency's tarball in npm's cache, but not
// the registry's package documents that resolving version ranges needs. So the fresh project
// gets a lockfile made from this repository's: the same versions, resolved and checked by
// integrity from the cache, as `npm ci --offline` installs them.
//
// Run by .ci/run after `npm ci && npm test`; by hand: `node scripts/pack-check.mjs`.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'tokensmith-pack-'));
const app = join(work, 'app');
const children = new Set();

function step(text) {
  console.log(`pack-check: ${text}`);
}
function fail(text) {
  throw new Error(`pack-check: ${text}`);
}
function run(command, args, options = {}) {
  return execFileSync(command, args, { cwd: app, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, ...options });
}

/** The lockfile entries of `names` and of everything they need, as this repository resolved them. */
function closure(names) {
  const entries = {};
  const pending = [...names].map((name) => `node_modules/${name}`);
  while (pending.length) {
    const path = pending.pop();
    if (entries[path]) continue;
    const entry = lock.packages[path];
    if (!entry) fail(`${path} is not in package-lock.json`);
    entries[path] = entry;
    for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      // Node's lookup: a copy nested under this package first, then under each folder above it.
      let base = path;
      for (;;) {
        const candidate = `${base}/node_modules/${dep}`;
        if (lock.packages[candidate]) {
          pending.push(candidate);
          break;
        }
        const up = base.lastIndexOf('/node_modules/');
        if (up < 0) {
          if (lock.packages[`node_modules/${dep}`]) pending.push(`node_modules/${dep}`);
          break;
        }
        base = base.slice(0, up);
      }
    }
  }
  return entries;
}

/** The host's own dependencies: tokensmith (the tarball), Koa and the router it uses, types for the TypeScript host. */
function writeProject(tarball) {
  const own = { koa: pkg.dependencies.koa, '@koa/router': pkg.dependencies['@koa/router'] };
  const types = ['@types/koa', '@types/node'];
  const entries = closure([...Object.keys(pkg.dependencies), ...Object.keys(own), ...types]);
  // This repository's lockfile may omit each tarball's URL (npm's omit-lockfile-registry-resolved);
  // with it written out, npm takes the tarball from the cache by its integrity, without asking
  // the registry where it is.
  const registry = run('npm', ['config', 'get', 'registry'], { cwd: root }).trim().replace(/\/?$/, '/');
  for (const [path, entry] of Object.entries(entries)) {
    delete entry.dev;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    entry.resolved ??= `${registry}${name}/-/${name.split('/').at(-1)}-${entry.version}.tgz`;
  }
  const devDependencies = Object.fromEntries(types.map((name) => [name, lock.packages[`node_modules/${name}`].version]));
  const dependencies = { tokensmith: `file:../${tarball}`, ...own };
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-check-host', version: '1.0.0', private: true, type: 'module', dependencies, devDependencies }, null, 2));
  const tokensmith = {
    version: pkg.version,
    resolved: `file:../${tarball}`,
    license: pkg.license,
    dependencies: pkg.dependencies,
    bin: pkg.bin,
    engines: pkg.engines,
  };
  const packages = { '': { name: 'pack-check-host', version: '1.0.0', dependencies, devDependencies }, 'node_modules/tokensmith': tokensmith, ...entries };
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'pack-check-host', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
}

const HOST_JS = `import Koa from 'koa';
import Router from '@koa/router';
import { tokenRequestFrom } from 'tokensmith';
import { boot, requireToken } from 'tokensmith/server';

const { engine } = await boot({ policies: ['node_modules/tokensmith/policies/emalidate.yaml'] });
const router = new Router();
router.post('/login', async (ctx) => {
  ctx.body = { token: (await engine.issue('emalidate', tokenRequestFrom({}, ctx.ip))).token };
});
router.get('/orders', requireToken(engine, 'emalidate'), (ctx) => {
  ctx.body = { for: ctx.state.token.subject };
});
const app = new Koa();
app.use(router.routes());
const server = app.listen(0, '127.0.0.1', () => console.log('host listening on http://127.0.0.1:' + server.address().port));
process.once('SIGTERM', () => server.close());
`;

const HOST_TS = `import Koa from 'koa';
import Router from '@koa/router';
import { tokenRequestFrom, isTokenSmithError, type TokenRecord } from 'tokensmith';
import { boot, requireToken, errorMiddleware } from 'tokensmith/server';

const { engine } = await boot({ policies: ['node_modules/tokensmith/policies/emalidate.yaml'] });
const router = new Router();
router.get('/orders', requireToken(engine, 'emalidate'), (ctx) => {
  const record: TokenRecord = ctx.state.token;
  // @ts-expect-error: a record has no such field; this line proves ctx.state is typed, not any.
  void ctx.state.token.nope;
  ctx.body = { for: record.subject, until: ctx.state.token.expiresAt };
});
const app = new Koa();
app.use(errorMiddleware(engine));
app.use(router.routes());
export { app, tokenRequestFrom, isTokenSmithError };
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'],
  },
  files: ['host.ts'],
};

/** Starts a program that prints "listening on URL"; resolves with the URL. */
function start(args, env = {}) {
  const child = spawn(process.execPath, args, { cwd: app, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`pack-check: ${args.join(' ')} did not listen in 30 s:\n${out}${err}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`pack-check: ${args.join(' ')} exited ${code}:\n${out}${err}`)));
  });
}

async function expectJson(response, status, check, what) {
  const body = await response.json();
  if (response.status !== status || !check(body)) fail(`${what}: got ${response.status} ${JSON.stringify(body)}`);
  return body;
}

try {
  mkdirSync(app);
  step('npm pack');
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root }).trim().split('\n').at(-1);
  const listing = run('tar', ['-tzf', join(work, tarball)]);
  for (const needed of ['package/dist/core/index.js', 'package/dist/core/index.d.ts', 'package/dist/server/index.d.ts', 'package/dist/server/testkit/index.js', 'package/bin/tokensmith.js', 'package/policies/emalidate.yaml', 'package/policies/jwt.yaml', 'package/policies/jwt-example-key.pem', 'package/core/policy/policy.schema.json', 'package/server/demo/melissa.html', 'package/LICENSE']) {
    if (!listing.split('\n').includes(needed)) fail(`${needed} is missing from ${tarball}`);
  }
  if (/package\/dist\/(test|bench)\//.test(listing)) fail(`${tarball} holds compiled tests or benchmarks`);

  step(`npm ci --offline ${tarball} into ${app}`);
  writeProject(tarball);
  run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts']);

  step('npx tokensmith --version');
  const version = run('npx', ['--offline', 'tokensmith', '--version']).trim();
  if (version !== pkg.version) fail(`npx tokensmith --version printed "${version}", expected ${pkg.version}`);
  const checked = run('npx', ['--offline', 'tokensmith', 'check', 'node_modules/tokensmith/policies']).trim();
  if (checked !== 'ok: 5 policies (electa, emalidate, jwt, melissa, xdoc)') fail(`check printed "${checked}"`);

  step('npx tokensmith serve --policies node_modules/tokensmith/policies');
  const served = await start([join(app, 'node_modules/.bin/tokensmith'), 'serve', '--port', '0', '--policies', 'node_modules/tokensmith/policies']);
  const { token } = await expectJson(await fetch(`${served}/emalidate/token`, { method: 'POST' }), 200, (b) => typeof b.token === 'string', 'POST /emalidate/token');
  await expectJson(await fetch(`${served}/emalidate/demo`, { headers: { authorization: `Bearer ${token}` } }), 200, (b) => b.ok === true, 'GET /emalidate/demo');
  // The jwt example signs with the key file shipped beside its policy; its public key is published.
  await expectJson(await fetch(`${served}/.well-known/jwks.json`), 200, (b) => b.keys?.length === 1 && b.keys[0].d === undefined, 'GET /.well-known/jwks.json');

  step('a Koa host of its own (host.mjs) importing tokensmith/server');
  writeFileSync(join(app, 'host.mjs'), HOST_JS);
  const host = await start(['host.mjs']);
  const refused = await fetch(`${host}/orders`);
  await expectJson(refused, 401, (b) => b.error === 'ERR_TOKEN_MISSING', 'GET /orders without a token');
  if (refused.headers.get('www-authenticate') !== 'Bearer realm="emalidate"') fail(`no RFC 6750 challenge: ${refused.headers.get('www-authenticate')}`);
  const login = await expectJson(await fetch(`${host}/login`, { method: 'POST' }), 200, (b) => typeof b.token === 'string', 'POST /login');
  await expectJson(await fetch(`${host}/orders`, { headers: { authorization: `Bearer ${login.token}` } }), 200, (b) => b.for === 'demo-user', 'GET /orders');

  step('the same host as strict TypeScript against the package types');
  writeFileSync(join(app, 'host.ts'), HOST_TS);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  try {
    run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
  } catch (err) {
    fail(`host.ts does not type-check:\n${err.stdout}${err.stderr}`);
  }
  step('ok');
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
