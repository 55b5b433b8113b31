import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import * as root from 'tokensmith';
import * as server from 'tokensmith/server';
import * as testkit from 'tokensmith/testkit';
import { boot, type Booted } from '../../server/bootstrap.js';
import { errorMiddleware, requireToken } from '../../server/index.js';
import { listen } from '../helpers/http.js';
import { FIXTURE_PLUGIN, FIXTURE_POLICY } from '../helpers/boot.js';

const ENV = { MELISSA_LICENSE: 'host-licence-0123456789' };

describe('the host API in a Koa app of one’s own', () => {
  let booted: Booted;
  beforeEach(async () => {
    booted = await boot({ policies: ['policies/melissa.yaml', 'policies/emalidate.yaml', FIXTURE_POLICY], plugins: [FIXTURE_PLUGIN], env: ENV });
  });
  afterEach(async () => {
    await booted.store.close();
  });

  async function hostWith(middleware: Koa.Middleware[]) {
    const { engine } = booted;
    const router = new Router();
    router.get('/mine', requireToken(engine, 'fixture', { scopes: ['write'] }), (ctx) => {
      ctx.body = { subject: ctx.state.token.subject };
    });
    router.get('/melissa-mine', requireToken(engine, 'melissa'), (ctx) => {
      ctx.body = { scopes: ctx.state.token.scopes };
    });
    router.get('/boom', () => {
      throw new Error('database password is hunter2');
    });
    const app = new Koa();
    for (const m of middleware) app.use(m);
    app.use(router.routes());
    return listen(app);
  }

  async function fixtureToken(scope: string): Promise<string> {
    const issued = await booted.engine.issue('fixture', root.tokenRequestFrom({ client_id: 'alice', client_secret: 'alice-secret-0001', scope }, '127.0.0.1'));
    return issued.token;
  }

  for (const [title, middleware] of [
    ['without tokensmith’s error middleware', () => []],
    ['with the exported error middleware mounted', () => [errorMiddleware(booted.engine)]],
  ] as const) {
    describe(title, () => {
      it('answers a refusal as JSON {error, error_description} with its status and challenge, in the policy’s format', async () => {
        const http = await hostWith(middleware());
        try {
          const missing = await fetch(`${http.url}/mine`);
          expect([missing.status, missing.headers.get('www-authenticate')]).to.deep.equal([401, 'Bearer realm="fixture"']);
          expect(await missing.json()).to.deep.equal({ error: 'ERR_TOKEN_MISSING', error_description: 'no token presented' });
          const read = await fixtureToken('read');
          const scope = await fetch(`${http.url}/mine`, { headers: { authorization: `Bearer ${read}` } });
          expect(scope.status).to.equal(403);
          expect(scope.headers.get('www-authenticate')).to.equal('Bearer realm="fixture", error="insufficient_scope", error_description="ERR_TOKEN_SCOPE", scope="write"');
          expect(await scope.json()).to.deep.equal({ error: 'ERR_TOKEN_SCOPE', error_description: 'the token does not carry scope write' });
          const write = await fixtureToken('write');
          const ok = await fetch(`${http.url}/mine`, { headers: { authorization: `Bearer ${write}` } });
          expect([ok.status, await ok.json()]).to.deep.equal([200, { subject: 'user-alice' }]);
          // A vendor policy answers in its own format (Melissa: 200 with its result code), without a challenge.
          const melissa = await fetch(`${http.url}/melissa-mine?id=T:nope`);
          expect([melissa.status, melissa.headers.get('www-authenticate')]).to.deep.equal([200, null]);
          expect(await melissa.text()).to.match(/GE\d\d/);
        } finally {
          await http.close();
        }
      });
    });
  }

  it('the exported error middleware renders any other error as ERR_INTERNAL, without its message or stack', async () => {
    const http = await hostWith([errorMiddleware(booted.engine)]);
    try {
      const res = await fetch(`${http.url}/boom`);
      expect(res.status).to.equal(500);
      expect(await res.text()).to.equal('{"error":"ERR_INTERNAL","error_description":"internal error"}');
      const none = await fetch(`${http.url}/nowhere`);
      expect([none.status, ((await none.json()) as { error: string }).error]).to.deep.equal([404, 'ERR_NOT_FOUND']);
    } finally {
      await http.close();
    }
  });
});

describe('the public API (package exports)', () => {
  it('tokensmith: the engine, policy loading, ports helpers, definePlugin and the errors, nothing internal', () => {
    const names = Object.keys(root).sort();
    for (const internal of ['clampTtl', 'CredentialIndex', 'LockoutGuard', 'bindAddress', 'checkBinding', 'chooseFormat', 'encoderNameFor', 'PluginRegistry', 'loadPluginModule', 'storeNameOf']) {
      expect(names, internal).to.not.include(internal);
    }
    for (const name of ['Engine', 'assemble', 'loadPolicies', 'tokenRequestFrom', 'definePlugin', 'TYPES', 'TokenSmithError', 'isTokenSmithError', 'hasCode', 'ManualClock', 'parseDuration']) {
      expect(names, name).to.include(name);
    }
  });
  it('tokensmith/server: boot, createApp, requireToken, errorMiddleware, the logger, the audit trail; no lifecycle internals or the CLI', () => {
    expect(Object.keys(server).sort()).to.deep.equal(
      [
        'Metrics', 'TrustedProxies', 'boot', 'builtinModules', 'createApp', 'createLogger', 'errorMiddleware', 'flushLogger', 'requireToken',
        'AuditTrail', 'auditFile', 'auditStream', 'loadAdminCredentials',
      ].sort(),
    );
  });
  it('tokensmith/testkit: the conformance kit', () => {
    expect(Object.keys(testkit)).to.include.members(['runConformance', 'assertConformance', 'describeConformance']);
  });
});
