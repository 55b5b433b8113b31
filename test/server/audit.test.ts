import { expect } from 'chai';
import { mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../core/clock.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp } from '../../server/app.js';
import { AuditTrail } from '../../server/audit.js';
import { auditFile, auditStream } from '../../server/audit-sink.js';
import { reloader } from '../../server/reload.js';
import { main } from '../../server/cli.js';
import type { AdminCredential } from '../../server/admin-credentials.js';
import { listen } from '../helpers/http.js';
import { ADMIN_SECRET, formPost } from '../helpers/host.js';
import { T0 } from '../helpers/boot.js';

const APPKEY = 'AUDIT-TEST-APPKEY-0123456789ABCDEF';
const WRONG_APPKEY = 'WRONG-APPKEY-GUESS-0123456789';
const LICENCE = 'audit-test-melissa-licence-0123456789';
const WRONG_LICENCE = 'wrong-melissa-licence-9876543210';
const JWT_SECRET = 'audit-test-emalidate-secret-0123456789abcdef';
const AUDIT_KEY = 'audit-test-hmac-key-0123456789abcdef';
const METRICS_SECRET = 'audit-test-metrics-secret-0123456789';
const OPS = 'audit-test-ops-secret-0123456789';
const READER = 'audit-test-reader-secret-0123456789';
const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: APPKEY, MELISSA_LICENSE: LICENCE, EMALIDATE_SECRET: JWT_SECRET };
const POLICIES = ['policies/electa.yaml', 'policies/melissa.yaml', 'policies/emalidate.yaml'];
const CREDENTIALS: AdminCredential[] = [
  { name: 'ops', secret: OPS, actions: ['introspect', 'revoke', 'lockouts'] },
  { name: 'reader', secret: READER, actions: ['introspect'] },
];

type Line = Record<string, unknown> & { time: string; event: string; policy: string | null; credential_id: string | null; client: string | null; token_id: string | null };

/** The fields docs/audit.md lists: those of every line, and each event's own. */
function documentedFields(): { common: string[]; byEvent: Map<string, string[]> } {
  const text = readFileSync('docs/audit.md', 'utf8');
  // A field is a `name` outside parentheses; what is inside them describes its values.
  const names = (cell: string) => [...cell.replace(/\([^)]*\)/g, '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string);
  const common = names(/^Every line has: (.*)$/m.exec(text)?.[1] ?? '');
  const byEvent = new Map<string, string[]>();
  for (const [, event, , fields] of text.matchAll(/^\| `([a-z]+\.[a-z]+)` \| ([^|]*) \| ([^|]*) \|$/gm)) byEvent.set(event as string, names(fields as string));
  return { common, byEvent };
}

describe('server/audit: the audit trail over a real socket', () => {
  let booted: Booted;
  let http: Awaited<ReturnType<typeof listen>>;
  let trail: AuditTrail;
  let written: string;
  const clock = new ManualClock(T0);

  beforeEach(async () => {
    written = '';
    booted = await boot({ policies: POLICIES, store: 'memory', env: ENV, clock });
    trail = new AuditTrail({ sink: auditStream({ write: (line: string) => void (written += line) }), key: AUDIT_KEY, clock });
    trail.watch(booted.engine);
    http = await listen(createApp({ engine: booted.engine, adminSecret: ADMIN_SECRET, adminCredentials: CREDENTIALS, audit: trail, metricsEndpoint: { secret: METRICS_SECRET } }));
  });
  afterEach(async () => {
    await http.close();
    await booted.store.close();
  });
  const lines = (): Line[] => written.trim().split('\n').map((l) => JSON.parse(l) as Line);
  const electa = (cid: string, appKey: string) => fetch(`${http.url}/apps/token.asp?CID=${encodeURIComponent(cid)}&AppKey=${appKey}&Result=csv`).then((r) => r.text());
  const admin = (route: string, secret: string | undefined, params: Record<string, string>) =>
    fetch(`${http.url}/${route}`, formPost(params, secret === undefined ? {} : { authorization: `Bearer ${secret}` }));

  it('records a realistic session, every line with the documented fields, and no secret or token anywhere', async () => {
    const electaToken = (await electa('42', APPKEY)).slice(2);
    const melissaXml = await (await fetch(`${http.url}/v3/web/Service.svc/RequestToken?L=${LICENCE}&P=pkgExpressEntry`)).text();
    const melissaToken = /<Token>([^<]+)<\/Token>/.exec(melissaXml)?.[1] as string;
    const jwt = ((await (await fetch(`${http.url}/emalidate/token`, { method: 'POST' })).json()) as { token: string }).token;
    expect(electaToken).to.match(/^[0-9A-F-]{36}$/);
    expect(melissaToken).to.be.a('string');
    clock.advance(1000);
    for (let i = 0; i < 5; i++) expect(await electa('42', WRONG_APPKEY)).to.equal('1,Invalid Account or Application Key');
    expect((await electa('42', APPKEY)).slice(0, 2)).to.equal('2,');
    // A caller who typed the secret into the id field: the line must not show it.
    expect(await electa(APPKEY, APPKEY)).to.equal('1,Invalid Account or Application Key');
    expect(await (await fetch(`${http.url}/v3/web/Service.svc/RequestToken?L=${WRONG_LICENCE}`)).text()).to.include('<Result>TE01</Result>');

    const introspected = (await (await admin('introspect', READER, { token: jwt })).json()) as { jti: string };
    expect((await admin('revoke', READER, { token: melissaToken })).status).to.equal(403);
    expect((await admin('revoke', 'wrong-admin-secret-0123456789', { token: melissaToken })).status).to.equal(401);
    expect((await admin('revoke', OPS, { token: melissaToken })).status).to.equal(200);
    expect((await admin('revoke', ADMIN_SECRET, { token: electaToken })).status).to.equal(200);
    expect((await fetch(`${http.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_SECRET}` } })).status).to.equal(200);
    const reloaded = await reloader(booted, { policies: POLICIES, env: ENV, logger: { info() {}, warn() {}, error() {} }, audit: trail }).reload('SIGHUP');
    expect(reloaded.ok).to.equal(true);

    // Nothing secret, nothing usable: no secret sent or configured, no token, not even the audit key.
    for (const secret of [APPKEY, WRONG_APPKEY, LICENCE, WRONG_LICENCE, JWT_SECRET, AUDIT_KEY, METRICS_SECRET, OPS, READER, ADMIN_SECRET, 'wrong-admin-secret', electaToken, melissaToken, jwt, ...jwt.split('.')]) {
      expect(written.includes(secret), secret).to.equal(false);
    }
    expect(written.includes(electaToken.toLowerCase())).to.equal(false);

    const all = lines();
    const { common, byEvent } = documentedFields();
    expect(common).to.deep.equal(['time', 'event', 'policy', 'credential_id', 'client', 'token_id']);
    for (const line of all) {
      const own = byEvent.get(line.event);
      expect(own, `event ${line.event} documented`).to.not.equal(undefined);
      expect(Object.keys(line).slice(0, common.length), line.event).to.deep.equal(common);
      expect(Object.keys(line).slice(common.length).sort(), line.event).to.deep.equal([...(own ?? [])].sort());
      expect(line.time).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      if (line.token_id !== null) expect(line.token_id).to.match(/^hmac-sha256:[0-9a-f]{64}$/);
    }

    const of = (event: string) => all.filter((l) => l.event === event);
    const issued = of('token.issued');
    expect(issued.map((l) => [l.policy, l.credential_id, l.client])).to.deep.equal([
      ['electa', '42', '127.0.0.1'],
      ['melissa', 'demo-licence', '127.0.0.1'],
      ['emalidate', null, '127.0.0.1'],
    ]);
    expect(issued[0]?.time).to.equal(new Date(T0).toISOString());
    expect(issued[2]?.token_id).to.equal(trail.hash(introspected.jti));

    const refused = of('token.refused');
    expect(refused.map((l) => [l.policy, l['code']])).to.deep.equal([
      ...Array.from({ length: 5 }, () => ['electa', 'ERR_CREDENTIAL_INVALID']),
      ['electa', 'ERR_LOCKED_OUT'],
      ['electa', 'ERR_CREDENTIAL_INVALID'],
      ['melissa', 'ERR_CREDENTIAL_INVALID'],
    ]);
    expect(refused.slice(0, 6).every((l) => l.credential_id === '42' && l.client === '127.0.0.1' && l.token_id === null)).to.equal(true);
    expect(refused[6]?.credential_id).to.equal(trail.hash(APPKEY));
    expect(refused[7]?.credential_id).to.equal(null);
    expect(refused[0]?.time).to.equal(new Date(T0 + 1000).toISOString());

    expect(of('lock.started').map((l) => [l.policy, l.credential_id, l.client, l['subject']])).to.deep.equal([['electa', '42', '127.0.0.1', 'credential']]);

    const revoked = of('token.revoked');
    expect(revoked.map((l) => [l.policy, l['actor'], l.credential_id])).to.deep.equal([
      ['melissa', 'ops', 'demo-licence'],
      ['electa', 'admin-secret', '42'],
    ]);
    // The same token is the same hash in every line: what was issued is what was revoked.
    expect(revoked[0]?.token_id).to.equal(issued[1]?.token_id);
    expect(revoked[1]?.token_id).to.equal(issued[0]?.token_id);

    expect(of('admin.call').map((l) => [l['actor'], l['action'], l['outcome']])).to.deep.equal([
      ['reader', 'introspect', 'ok'],
      ['reader', 'revoke', 'ERR_ADMIN_FORBIDDEN'],
      [null, 'revoke', 'ERR_ADMIN_UNAUTHORIZED'],
      ['ops', 'revoke', 'ok'],
      ['admin-secret', 'revoke', 'ok'],
      ['metrics-secret', 'metrics', 'ok'],
    ]);
    expect(of('admin.call')[0]?.token_id).to.equal(trail.hash(introspected.jti));

    expect(of('policies.reloaded').map((l) => [l['reason'], l['outcome'], l['policies']])).to.deep.equal([['SIGHUP', 'ok', ['electa', 'melissa', 'emalidate']]]);
  });

  it('hashes token ids with the audit key: another key, other hashes', () => {
    const other = new AuditTrail({ sink: auditStream({ write() {} }), key: `${AUDIT_KEY}-2` });
    expect(trail.hash('token-id')).to.match(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(trail.hash('token-id')).to.equal(trail.hash('token-id'));
    expect(other.hash('token-id')).to.not.equal(trail.hash('token-id'));
  });

  it('writes nothing about issue requests once the trail stops watching', async () => {
    const stop = trail.watch(booted.engine);
    stop();
    const before = written;
    const other = new AuditTrail({ sink: auditStream({ write() {} }), key: AUDIT_KEY });
    other.watch(booted.engine)();
    await electa('42', APPKEY);
    // The first watch (beforeEach) still listens: one line, not two.
    expect(written.slice(before.length).trim().split('\n')).to.have.length(1);
  });
});

describe('server/audit-sink: the audit file', () => {
  it('appends whole lines to a file created 0600, and has them all on disk once closed', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ts-audit-')), 'sub', 'audit.log');
    const sink = await auditFile(path, { info() {}, warn() {}, error() {} });
    const trail = new AuditTrail({ sink, key: AUDIT_KEY });
    for (let i = 0; i < 2000; i++) trail.record('admin.call', { actor: 'ops', action: 'introspect', outcome: 'ok', tokenId: `t${i}` });
    await trail.close();
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.pop()).to.equal('');
    expect(lines).to.have.length(2000);
    expect(lines.every((l) => (JSON.parse(l) as Line).token_id?.startsWith('hmac-sha256:'))).to.equal(true);
  });

  it('reopens the file after log rotation moved it (SIGHUP in serve): later lines go to a new file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ts-audit-')), 'audit.log');
    const trail = new AuditTrail({ sink: await auditFile(path, { info() {}, warn() {}, error() {} }), key: AUDIT_KEY });
    trail.record('admin.call', { actor: 'before' });
    // The first line is already being written (the sink starts a write at once): it ends in the moved file.
    renameSync(path, `${path}.1`);
    trail.reopen();
    trail.record('admin.call', { actor: 'after' });
    await trail.close();
    const actors = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as Line)['actor']);
    expect(actors(`${path}.1`)).to.deep.equal(['before']);
    expect(actors(path)).to.deep.equal(['after']);
  });

  it('drops whole lines, and says so in the log, rather than holding more than its bound in memory', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ts-audit-')), 'audit.log');
    const errors: object[] = [];
    const trail = new AuditTrail({ sink: await auditFile(path, { info() {}, warn() {}, error: (o) => void errors.push(o) }, 1024), key: AUDIT_KEY });
    for (let i = 0; i < 200; i++) trail.record('admin.call', { actor: 'ops', action: 'introspect', outcome: 'ok', n: i });
    await trail.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.length).to.be.greaterThan(0).and.lessThan(200);
    expect(lines.every((l) => (JSON.parse(l) as Line).event === 'admin.call')).to.equal(true);
    expect(errors).to.deep.equal([{ warning: 'audit', dropped: 1, failed: 0 }]);
  });

  it('refuses a path it cannot open, with the reason', async () => {
    const notADirectory = join(mkdtempSync(join(tmpdir(), 'ts-audit-')), 'file');
    writeFileSync(notADirectory, '');
    let error: unknown;
    try {
      await auditFile(join(notADirectory, 'audit.log'), { info() {}, warn() {}, error() {} });
    } catch (err) {
      error = err;
    }
    expect((error as NodeJS.ErrnoException | undefined)?.code).to.be.oneOf(['ENOTDIR', 'EEXIST']);
  });
});

describe('tokensmith serve --audit', () => {
  const serving = async (args: string[], env: Record<string, string>) => {
    const abort = new AbortController();
    let log = '';
    let url = '';
    let up: () => void = () => {};
    const listening = new Promise<void>((r) => (up = r));
    const done = main(['serve', '--port', '0', '--policies', 'policies/electa.yaml', ...args], {
      out: (t) => ((url = /listening on (\S+)/.exec(t)?.[1] ?? ''), up()),
      err: () => {},
      env: { ...ENV, TOKENSMITH_ADMIN_SECRET: ADMIN_SECRET, ...env },
      log: { write: (line: string) => void (log += line) },
    }, abort.signal);
    await Promise.race([listening, done]);
    return { url, log: () => log, stop: async () => (abort.abort(), await done) };
  };

  it('writes the trail to a file and flushes it on stop', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ts-audit-serve-')), 'audit.log');
    const server = await serving(['--audit', path], { TOKENSMITH_AUDIT_KEY: AUDIT_KEY });
    const token = (await (await fetch(`${server.url}/apps/token.asp?CID=42&AppKey=${APPKEY}&Result=csv`)).text()).slice(2);
    expect((await fetch(`${server.url}/revoke`, formPost({ token }, { authorization: `Bearer ${ADMIN_SECRET}` }))).status).to.equal(200);
    expect(await server.stop()).to.equal(0);
    const text = readFileSync(path, 'utf8');
    const events = text.trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(events.map((l) => l.event)).to.deep.equal(['audit.started', 'token.issued', 'token.revoked', 'admin.call']);
    expect(events[0]?.['key']).to.equal('TOKENSMITH_AUDIT_KEY');
    for (const secret of [APPKEY, ADMIN_SECRET, AUDIT_KEY, token]) expect(text.includes(secret), secret).to.equal(false);
    // The audit key is not in the log either, and no warning about a missing key was given.
    expect(server.log()).to.not.include(AUDIT_KEY);
    expect(server.log()).to.not.include('"warning":"audit-key"');
  });

  it('writes audit lines among the log lines with --audit stderr, each whole, and warns without TOKENSMITH_AUDIT_KEY', async () => {
    const server = await serving(['--audit', 'stderr'], {});
    await Promise.all(Array.from({ length: 20 }, () => fetch(`${server.url}/apps/token.asp?CID=42&AppKey=wrong&Result=csv`)));
    await server.stop();
    const parsed = server.log().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.filter((l) => l['event'] === 'token.refused')).to.have.length(20);
    expect(parsed.filter((l) => l['event'] === 'lock.started')).to.have.length(1);
    expect(parsed.some((l) => l['warning'] === 'audit-key')).to.equal(true);
  });

  it('refuses a short TOKENSMITH_AUDIT_KEY and an unusable credentials file before serving', async () => {
    const errors: string[] = [];
    const io = { out: () => {}, err: (t: string) => void errors.push(t), env: { ...ENV, TOKENSMITH_AUDIT_KEY: 'short' }, log: { write() {} } };
    expect(await main(['serve', '--port', '0', '--policies', 'policies/electa.yaml', '--audit', 'stderr'], io)).to.equal(2);
    expect(errors[0]).to.equal('tokensmith: TOKENSMITH_AUDIT_KEY must be at least 16 characters');
    errors.length = 0;
    const missing = join(tmpdir(), 'no-such-admin-credentials.yaml');
    expect(await main(['serve', '--port', '0', '--policies', 'policies/electa.yaml', '--admin-credentials', missing], { ...io, env: ENV })).to.equal(1);
    expect(errors[0]).to.equal(`tokensmith: cannot read ${missing} (ENOENT); fix --admin-credentials (or TOKENSMITH_ADMIN_CREDENTIALS); see docs/audit.md`);
  });
});
