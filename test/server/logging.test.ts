import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp } from '../../server/app.js';
import { main } from '../../server/cli.js';
import { errorMiddleware } from '../../server/error-middleware.js';
import { createLogger } from '../../server/logging.js';
import { reloader } from '../../server/reload.js';
import { requireToken } from '../../server/require-token.js';
import { crashingFixturePolicy, FIXTURE_PLUGIN } from '../helpers/boot.js';
import { listen } from '../helpers/http.js';
import { serveInProcess } from '../helpers/serve-child.js';

// Known secrets, each fed through the host; none may ever appear in what is logged.
const LICENCE = 'melissa-LICENCE-7a1f0c93e5d2b846';
const APPKEY = 'ELECTA-APPKEY-55b2e10d9c4f7a31';
const EMALIDATE_SECRET = 'emalidate-SECRET-phrase-0f3e8d2c1b4a5968';
const FIXTURE_SECRET = 'fixture-ALICE-secret-3c9e1a7b';
const ADMIN = 'ADMIN-secret-9d8c7b6a5f4e3d2c';
const METRICS = 'METRICS-secret-1f2e3d4c5b6a7988';
/** What callers typed by mistake (or on purpose): wrong licences, keys, admin secrets. */
const TYPED = {
  licence: 'typed-wrong-licence-c0ffee11aa',
  appKey: 'typed-wrong-appkey-deadbeef22',
  admin: 'typed-wrong-admin-0badf00d33',
  metrics: 'typed-wrong-metrics-feedface44',
  token: 'typed-wrong-token-5eed5eed55',
  fixture: 'typed-wrong-fixture-secret-66',
  shortEmalidate: 'too-short-77ab',
};
const ENV = {
  MELISSA_LICENSE: LICENCE,
  ELECTA_CID: '42',
  ELECTA_APPKEY: APPKEY,
  EMALIDATE_SECRET,
  EMALIDATE_KID: 'kid-1',
  EMALIDATE_USER_ID: 'user-1',
  FIXTURE_ALICE_SECRET: FIXTURE_SECRET,
};
const POLICIES = ['policies', crashingFixturePolicy()];

interface Line {
  level: number;
  msg: string;
  kind?: string;
  policy?: string;
  path?: string;
  method?: string;
  status?: number;
  outcome?: string;
  ms?: number;
  client?: string;
  error?: { type: string; message: string; stack: string };
  issues?: string[];
}

/** A real pino logger whose lines are kept in memory. */
function capture(): { lines: string[]; logger: ReturnType<typeof createLogger>; parsed(): Line[] } {
  const lines: string[] = [];
  const logger = createLogger({ destination: { write: (line: string) => void lines.push(line) } });
  return { lines, logger, parsed: () => lines.map((l) => JSON.parse(l) as Line) };
}

const melissaToken = (xmlOrJson: string) => /<Token>([^<]*)</.exec(xmlOrJson)?.[1] ?? (JSON.parse(xmlOrJson) as { Token: string }).Token;

describe('logs: one JSON line per token request, never a secret', () => {
  let booted: Booted;
  let http: Awaited<ReturnType<typeof listen>>;
  let log: ReturnType<typeof capture>;
  const issued: string[] = [];

  beforeEach(async () => {
    log = capture();
    booted = await boot({ policies: POLICIES, plugins: [FIXTURE_PLUGIN], store: 'memory', env: ENV });
    const app = createApp({ engine: booted.engine, adminSecret: ADMIN, logger: log.logger, metricsEndpoint: { secret: METRICS } });
    http = await listen(app);
  });
  afterEach(async () => {
    await http.close();
    await booted.store.close();
  });

  it('writes one line per issue, verify, introspect and revoke with policy, kind, path, outcome, latency and client', async () => {
    const guid = (await (await fetch(`${http.url}/apps/token.asp?CID=42&AppKey=${APPKEY}&Result=csv`)).text()).slice(2);
    await fetch(`${http.url}/apps/session.asp?CID=42&Token=${TYPED.token}`);
    await fetch(`${http.url}/introspect`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${guid}` });
    await fetch(`${http.url}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${TYPED.admin}` } });
    await fetch(`${http.url}/healthz`);
    await fetch(`${http.url}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } });
    const lines = log.parsed();
    expect(lines.map((l) => l.msg)).to.deep.equal(['token request', 'token request', 'token request', 'token request']);
    for (const line of lines) {
      expect(line.ms).to.be.a('number').and.to.be.at.least(0);
      expect(line.client).to.equal('127.0.0.1');
    }
    const shape = ({ level, kind, policy, path, method, status, outcome }: Line) => ({ level, kind, policy, path, method, status, outcome });
    expect(lines.map(shape)).to.deep.equal([
      { level: 30, kind: 'issue', policy: 'electa', path: '/apps/token.asp', method: 'GET', status: 200, outcome: 'ok' },
      { level: 30, kind: 'verify', policy: 'electa', path: '/apps/session.asp', method: 'GET', status: 200, outcome: 'ERR_TOKEN_UNKNOWN' },
      { level: 30, kind: 'introspect', policy: 'electa', path: '/introspect', method: 'POST', status: 200, outcome: 'ok' },
      { level: 30, kind: 'revoke', policy: undefined, path: '/revoke', method: 'POST', status: 401, outcome: 'ERR_ADMIN_UNAUTHORIZED' },
    ]);
  });

  it('logs unexpected errors with a stack at level error, and the access line with ERR_INTERNAL', async () => {
    const res = await fetch(`${http.url}/fixture/token?client_id=alice&boom=${TYPED.fixture}`);
    expect(res.status).to.equal(500);
    const [unexpected, access] = log.parsed();
    expect(unexpected?.level).to.equal(50);
    expect(unexpected?.msg).to.equal('unexpected error');
    expect(unexpected?.error?.type).to.equal('TypeError');
    expect(unexpected?.error?.message).to.equal('kaboom in /srv/secret/path');
    expect(unexpected?.error?.stack).to.match(/^TypeError: kaboom in \/srv\/secret\/path\n\s+at (Object\.)?readGrant \(.*\/test\/fixtures\/outside-plugin\/index\.js:\d+:\d+\)\n/);
    // Request values are scrubbed from the log without garbling the stack: every frame is still a frame.
    const frames = (unexpected?.error?.stack ?? '').split('\n').slice(1);
    expect(frames.length).to.be.at.least(2);
    for (const frame of frames) expect(frame).to.match(/^\s+at \S/);
    expect(access).to.deep.include({ level: 50, kind: 'issue', policy: 'fixture', outcome: 'ERR_INTERNAL', status: 500 });
  });

  it('scrubs secrets from an unexpected error that quotes them (host route behind requireToken)', async () => {
    const app = new Koa();
    const router = new Router();
    router.get('/orders', requireToken(booted.engine, 'melissa'), (ctx) => {
      throw new Error(`upstream refused licence ${LICENCE} for token ${String(ctx.query['id'])} and header ${ctx.get('x-api-key')}`);
    });
    app.use(errorMiddleware(booted.engine, log.logger));
    app.use(router.routes());
    const own = await listen(app);
    try {
      const xml = await (await fetch(`${http.url}/v3/web/Service.svc/RequestToken?L=${LICENCE}&P=pkgExpressEntry`)).text();
      const token = melissaToken(xml);
      log.lines.length = 0;
      const res = await fetch(`${own.url}/orders?id=${encodeURIComponent(token)}`, { headers: { 'x-api-key': TYPED.appKey } });
      expect(res.status).to.equal(200); // Melissa answers 200 with its code in the body
      expect(await res.text()).to.equal('<RequestTokenResponse><Result>TE99</Result><Token></Token></RequestTokenResponse>');
      const [line] = log.parsed();
      expect(line?.error?.message).to.equal('upstream refused licence [redacted] for token [redacted] and header [redacted]');
      expect(line?.error?.stack).to.match(/^Error: upstream refused licence \[redacted\] for token \[redacted\] and header \[redacted\]\n/);
      for (const secret of [LICENCE, token, TYPED.appKey]) expect(log.lines.join('\n')).to.not.include(secret);
    } finally {
      await own.close();
    }
  });

  it('holds no secret, token or key after every path: success, refusals, bad input, lockouts, admin, metrics, reload failures, the CLI', async () => {
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${http.url}${path}`, { headers }).then((r) => r.text());
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${http.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body }).then((r) => r.text());

    // Melissa: both RequestToken routes, the helper, the consuming side; then refusals and a lockout.
    const t1 = melissaToken(await get(`/v3/web/Service.svc/RequestToken?L=${LICENCE}&P=pkgExpressEntry`));
    const t2 = melissaToken(await get(`/v3/json/Service.svc/RequestToken?L=${LICENCE}&P=pkgExpressEntry&IP=10.9.8.7&TS=0010`));
    const t3 = (JSON.parse(await post('/melissa/gettoken', 'function=gettoken')) as [{ token: string }])[0].token;
    issued.push(t1, t2, t3);
    await get(`/melissa/demo/ExpressFreeForm?id=${encodeURIComponent(t1)}`);
    await get(`/melissa/demo/ExpressFreeForm?id=${encodeURIComponent(t2)}`); // GE13: bound to another address
    await get(`/melissa/demo/ExpressFreeForm?id=${TYPED.token}`);
    await get(`/v3/web/Service.svc/RequestToken?L=${LICENCE}&L=${TYPED.licence}`); // repeated parameter
    await get(`/v3/web/Service.svc/RequestToken?L=${LICENCE}&TS=${TYPED.token}`); // bad TS
    await get(`/v3/web/Service.svc/RequestToken?L=${LICENCE}&P=${TYPED.licence}`); // package not allowed
    await get(`/v3/web/Service.svc/RequestToken?L=${LICENCE}&IP=${TYPED.token}`); // bad IP
    await get(`/v3/web/Service.svc/RequestToken?${TYPED.licence}=${LICENCE}&${TYPED.licence}=x`); // a secret as a name
    for (let i = 0; i < 11; i++) await get(`/v3/web/Service.svc/RequestToken?L=${TYPED.licence}&P=pkgExpressEntry`);

    // Electa: GET and POST, the session route, refusals, bad bodies and a lockout.
    const g1 = (await get(`/apps/token.asp?cid=42&appkey=${APPKEY}&result=csv`)).slice(2);
    const g2 = /<ResponseData>([^<]+)</.exec(await post('/apps/token.asp', `CID=42&AppKey=${APPKEY}`))?.[1] as string;
    issued.push(g1, g2);
    await get(`/apps/session.asp?CID=42&Token=${g1}`);
    await get(`/apps/session.asp?CID=43&Token=${g2}`);
    await post('/apps/token.asp', `CID=42&AppKey=${APPKEY}&pad=${'x'.repeat(20_000)}`); // body too large
    await post('/apps/token.asp', `{"CID":"42","AppKey":"${APPKEY}"`, { 'content-type': 'application/json' }); // bad JSON
    await post('/apps/token.asp', `CID=42&AppKey=${APPKEY}`, { 'content-type': 'text/x-secret' }); // unsupported type
    for (let i = 0; i < 7; i++) await get(`/apps/token.asp?CID=42&AppKey=${TYPED.appKey}&Result=csv`);

    // emalidate: issue, verify, a tampered token, a typed one.
    const j1 = (JSON.parse(await post('/emalidate/token', '')) as { token: string }).token;
    const j2 = (JSON.parse(await post('/emalidate/token', '')) as { token: string }).token;
    issued.push(j1, j2, j1.split('.')[2] as string);
    await get('/emalidate/demo', { authorization: `Bearer ${j1}` });
    await get('/emalidate/demo', { authorization: `Bearer ${j1.slice(0, -2)}xx` });
    await get('/emalidate/demo', { authorization: `Bearer ${TYPED.token}` });
    await get(`/emalidate/token?token=${j2}`); // wrong method, token in the query

    // The outside plugin: a wrong secret until locked, and an unexpected error.
    const f1 = (JSON.parse(await get(`/fixture/token?client_id=alice&client_secret=${FIXTURE_SECRET}`)) as { token: string }).token;
    issued.push(f1);
    for (let i = 0; i < 6; i++) await get(`/fixture/token?client_id=alice&client_secret=${TYPED.fixture}`);
    await get(`/fixture/token?client_id=alice&client_secret=${FIXTURE_SECRET}&boom=${TYPED.token}`);

    // Admin and metrics, with right and wrong secrets; a policy name that is a secret.
    await post('/introspect', `token=${encodeURIComponent(t1)}`, { authorization: `Bearer ${ADMIN}` });
    await post('/introspect', `token=${j1}&policy=${LICENCE}`, { authorization: `Bearer ${ADMIN}` });
    await post('/introspect', `token=${j1}`, { authorization: `Bearer ${TYPED.admin}` });
    await post('/revoke', `token=${g1}`, { authorization: `Bearer ${ADMIN}` });
    await post('/revoke', `token=${j2}`, { authorization: `Bearer ${ADMIN}` });
    await post('/revoke', `token=${TYPED.token}`, { authorization: TYPED.admin });
    await get('/metrics', { authorization: `Bearer ${TYPED.metrics}` });
    await get('/metrics', { authorization: `Bearer ${METRICS}` });
    await get(`/nope?L=${LICENCE}&AppKey=${APPKEY}`);

    // A reload that fails: a YAML error beside a secret, a secret too short, an unknown key.
    const dir = mkdtempSync(join(tmpdir(), 'ts-log-reload-'));
    try {
      writeFileSync(join(dir, 'a.yaml'), `id: a\nstyle: melissa\ncredentials:\n  - secret: "${LICENCE}\n`);
      writeFileSync(join(dir, 'b.yaml'), 'id: b\nstyle: emalidate\nemalidate:\n  issuer: x\n  keys: [{ kid: k, secret: "${env:SHORT}" }]\n');
      writeFileSync(join(dir, 'c.yaml'), `id: c\nstyle: electa\nsecret: ${APPKEY}\ncredentials: [{ id: "1", secret: "${APPKEY}" }]\n`);
      const result = await reloader(booted, { policies: [dir], env: { SHORT: TYPED.shortEmalidate }, logger: log.logger }).reload('test');
      expect(result.ok).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // The command line: serve (its JSON log), issue and verify with wrong secrets, check.
    const serve = await serveInProcess(['--grace', '5s'], { ...ENV, TOKENSMITH_ADMIN_SECRET: ADMIN, TOKENSMITH_METRICS_SECRET: METRICS });
    const base = serve.url;
    const t4 = melissaToken(await (await fetch(`${base}/v3/web/Service.svc/RequestToken?L=${LICENCE}&P=pkgExpressEntry`)).text());
    issued.push(t4);
    await fetch(`${base}/v3/web/Service.svc/RequestToken?L=${TYPED.licence}`);
    await fetch(`${base}/melissa/demo/ExpressFreeForm?id=${encodeURIComponent(t4)}`);
    await fetch(`${base}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${TYPED.admin}` } });
    expect(await serve.stop()).to.equal(0);
    const cli: string[] = [];
    const cliIo = { out: () => {}, err: (t: string) => void cli.push(t), env: ENV };
    expect(await main(['issue', '--policy', 'melissa', '--param', `L=${TYPED.licence}`], cliIo)).to.equal(1);
    expect(await main(['issue', '--policy', 'electa', '--param', 'CID=42', '--param', `AppKey=${TYPED.appKey}`], cliIo)).to.equal(1);
    expect(await main(['verify', '--policy', 'emalidate', j1.slice(0, -2) + 'xx'], cliIo)).to.equal(1);
    expect(await main(['verify', '--policy', 'melissa', TYPED.token], cliIo)).to.equal(1);
    expect(await main(['check', 'policies'], cliIo)).to.equal(0);

    // What was logged is real (not an empty log that would pass any search) …
    const lines = log.parsed();
    const outcomes = new Set(lines.map((l) => l.outcome));
    for (const code of [
      'ok', 'ERR_CREDENTIAL_INVALID', 'ERR_LOCKED_OUT', 'ERR_REQUEST_INVALID', 'ERR_SCOPE_NOT_ALLOWED', 'ERR_IP_BINDING',
      'ERR_TOKEN_IP_MISMATCH', 'ERR_TOKEN_UNKNOWN', 'ERR_TOKEN_CREDENTIAL_MISMATCH', 'ERR_TOKEN_SIGNATURE', 'ERR_TOKEN_MALFORMED',
      'ERR_BODY_TOO_LARGE', 'ERR_BODY_INVALID', 'ERR_METHOD_NOT_ALLOWED', 'ERR_ADMIN_UNAUTHORIZED', 'ERR_INTERNAL',
    ]) {
      expect(outcomes, code).to.include(code);
    }
    const failed = lines.find((l) => l.msg === 'policy reload failed; the previous policies are still served');
    expect(failed?.issues?.length).to.be.at.least(3);
    for (const issue of failed?.issues ?? []) expect(issue).to.match(/^\/\S+\/[abc]\.yaml:\d+:\d+: /);
    expect(serve.lines().filter((l) => l.msg === 'token request')).to.have.length(4);
    expect(serve.lines().filter((l) => l.level === 40).map((l) => l['warning'])).to.include.members(['store', 'demo-defaults']); // start-up warnings

    // … and it holds none of the secrets, tokens or keys, nor any query string.
    const everything = [...log.lines, serve.text(), ...cli].join('\n');
    const secrets = [LICENCE, APPKEY, EMALIDATE_SECRET, FIXTURE_SECRET, ADMIN, METRICS, ...Object.values(TYPED), ...issued];
    for (const secret of secrets) expect(everything, secret).to.not.include(secret);
    for (const secret of secrets) expect(everything, `${secret} url-encoded`).to.not.include(encodeURIComponent(secret));
    expect(everything).to.not.match(/[?&](L|AppKey|id|Token|token)=/i);
  });

  describe('the file destination (batched sonic-boom)', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'tokensmith-log-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));
    const read = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

    it('writes a lone line of a quiet server within the periodic flush, not only when 4 KiB are pending', async () => {
      const file = join(dir, 'quiet', 'serve.log');
      const logger = createLogger({ destination: file });
      logger.info({ kind: 'issue', policy: 'électa' }, 'token request');
      const started = Date.now();
      while (read(file).length === 0 && Date.now() - started < 3000) await new Promise((r) => setTimeout(r, 20));
      expect(read(file).map((l) => JSON.parse(l) as Line)).to.have.length(1);
      expect(JSON.parse(read(file)[0] as string)).to.include({ policy: 'électa', msg: 'token request' });
    });

    it('writes every pending line when the process exits at once (process.exit, an uncaught error)', () => {
      const logging = new URL('../../server/logging.js', import.meta.url).href;
      for (const [name, end] of [['exit', 'process.exit(0)'], ['crash', 'throw new Error("boom")']] as const) {
        const file = join(dir, `${name}.log`);
        const script = `const { createLogger } = await import(${JSON.stringify(logging)});
          const logger = createLogger({ destination: ${JSON.stringify(file)} });
          await new Promise((r) => setTimeout(r, 50));
          for (let i = 0; i < 25; i++) logger.info({ i }, 'line');
          ${end};`;
        spawnSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore', timeout: 10_000 });
        expect(read(file).map((l) => (JSON.parse(l) as { i: number }).i), name).to.deep.equal([...Array(25).keys()]);
      }
    });
  });
});
