import { expect } from 'chai';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp, type AppOptions } from '../../server/app.js';
import { listen } from '../helpers/http.js';
import { ADMIN_SECRET, adminPost } from '../helpers/host.js';
import { parseMetrics, sampleValue, type Sample } from '../helpers/prometheus.js';

const APPKEY = 'METRICS-TEST-APPKEY-0123456789ABCDEF';
const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: APPKEY, MELISSA_LICENSE: 'metrics-test-licence-0123456789' };

describe('GET /metrics (prom-client, over a real socket)', () => {
  let booted: Booted;
  let http: Awaited<ReturnType<typeof listen>>;

  async function start(options: Partial<AppOptions> = {}, bootOptions: { plugins?: string[]; store?: string } = {}): Promise<void> {
    booted = await boot({ policies: ['policies'], store: 'memory', env: ENV, ...bootOptions });
    http = await listen(createApp({ engine: booted.engine, adminSecret: ADMIN_SECRET, ...options }));
  }
  afterEach(async () => {
    await http.close();
    await booted.store.close();
  });

  const scrape = async (url = http.url, headers: Record<string, string> = {}): Promise<Sample[]> => {
    const res = await fetch(`${url}/metrics`, { headers });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('text/plain; version=0.0.4; charset=utf-8');
    return parseMetrics(await res.text());
  };
  const electa = (appKey: string) => fetch(`${http.url}/apps/token.asp?CID=42&AppKey=${appKey}&Result=csv`).then((r) => r.text());

  it('counts issued and refused tokens by policy and code, locks started, verify results and latency, exactly', async () => {
    await start();
    for (let i = 0; i < 2; i++) expect((await electa(APPKEY)).slice(0, 2)).to.equal('0,');
    for (let i = 0; i < 5; i++) expect(await electa('wrong')).to.equal('1,Invalid Account or Application Key');
    for (let i = 0; i < 2; i++) expect((await electa(APPKEY)).slice(0, 2)).to.equal('2,');
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) tokens.push(((await (await fetch(`${http.url}/emalidate/token`, { method: 'POST' })).json()) as { token: string }).token);
    expect((await fetch(`${http.url}/emalidate/token`)).status).to.equal(405);
    for (const token of tokens.slice(0, 2)) {
      expect((await fetch(`${http.url}/emalidate/demo`, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(200);
    }
    expect((await fetch(`${http.url}/emalidate/demo`)).status).to.equal(401);
    expect((await fetch(`${http.url}/introspect`, adminPost({ token: tokens[2] as string }))).status).to.equal(200);
    expect((await fetch(`${http.url}/revoke`, { method: 'POST', headers: { authorization: 'Bearer wrong' } })).status).to.equal(401);
    // Not token requests: neither counted nor given a label.
    expect((await fetch(`${http.url}/healthz`)).status).to.equal(200);
    expect((await fetch(`${http.url}/nope/secret-path?x=1`)).status).to.equal(404);

    const m = await scrape();
    expect(sampleValue(m, 'tokensmith_tokens_issued_total', { policy: 'electa' })).to.equal(2);
    expect(sampleValue(m, 'tokensmith_tokens_issued_total', { policy: 'emalidate' })).to.equal(3);
    expect(sampleValue(m, 'tokensmith_tokens_refused_total', { policy: 'electa', code: 'ERR_CREDENTIAL_INVALID' })).to.equal(5);
    expect(sampleValue(m, 'tokensmith_tokens_refused_total', { policy: 'electa', code: 'ERR_LOCKED_OUT' })).to.equal(2);
    expect(sampleValue(m, 'tokensmith_tokens_refused_total', { policy: 'emalidate', code: 'ERR_METHOD_NOT_ALLOWED' })).to.equal(1);
    expect(sampleValue(m, 'tokensmith_lockouts_total', { policy: 'electa' })).to.equal(1);
    expect(sampleValue(m, 'tokensmith_verify_total', { policy: 'emalidate', outcome: 'ok' })).to.equal(2);
    expect(sampleValue(m, 'tokensmith_verify_total', { policy: 'emalidate', outcome: 'ERR_TOKEN_MISSING' })).to.equal(1);
    expect(sampleValue(m, 'tokensmith_admin_requests_total', { route: 'introspect', outcome: 'ok' })).to.equal(1);
    expect(sampleValue(m, 'tokensmith_admin_requests_total', { route: 'revoke', outcome: 'ERR_ADMIN_UNAUTHORIZED' })).to.equal(1);
    expect(sampleValue(m, 'tokensmith_request_duration_seconds_count', { kind: 'issue', policy: 'electa' })).to.equal(9);
    expect(sampleValue(m, 'tokensmith_request_duration_seconds_count', { kind: 'issue', policy: 'emalidate' })).to.equal(4);
    expect(sampleValue(m, 'tokensmith_request_duration_seconds_count', { kind: 'verify', policy: 'emalidate' })).to.equal(3);
    expect(sampleValue(m, 'tokensmith_request_duration_seconds_count', { kind: 'introspect', policy: 'emalidate' })).to.equal(1);
    expect(sampleValue(m, 'tokensmith_request_duration_seconds_count', { kind: 'revoke', policy: '' })).to.equal(1);
    expect(sampleValue(m, 'tokensmith_request_duration_seconds_bucket', { kind: 'issue', policy: 'electa', le: '+Inf' })).to.equal(9);
    expect(sampleValue(m, 'tokensmith_store_errors_total')).to.equal(0);
    expect(sampleValue(m, 'tokensmith_policies')).to.equal(booted.engine.policies.length);
    // Low cardinality: only policy ids, kinds, codes and bucket bounds ever appear as label values.
    const values = new Set(m.flatMap((s) => Object.values(s.labels)));
    const ids = booted.engine.policies.map((p) => p.id);
    for (const value of values) {
      expect(ids.includes(value) || /^(|issue|verify|introspect|revoke|ok|ERR_[A-Z_]+|[0-9.e+-]+|\+Inf)$/.test(value), value).to.equal(true);
    }
  });

  it('counts store errors: each failed store call, the request failing closed', async () => {
    await start({}, { plugins: ['test/fixtures/broken-store/index.js'], store: 'broken://' });
    expect(await electa(APPKEY)).to.equal('8,Service temporarily unavailable');
    const m = await scrape();
    expect(sampleValue(m, 'tokensmith_store_errors_total')).to.equal(1);
    expect(sampleValue(m, 'tokensmith_tokens_refused_total', { policy: 'electa', code: 'ERR_STORE_UNAVAILABLE' })).to.equal(1);
  });

  it('keeps each app’s counts in its own registry', async () => {
    await start();
    const other = await listen(createApp({ engine: booted.engine }));
    try {
      await electa(APPKEY);
      expect(sampleValue(await scrape(), 'tokensmith_tokens_issued_total', { policy: 'electa' })).to.equal(1);
      expect(sampleValue(await scrape(other.url), 'tokensmith_tokens_issued_total', { policy: 'electa' })).to.equal(undefined);
    } finally {
      await other.close();
    }
  });

  it('with a metrics secret, answers only Authorization: Bearer <secret> (or an admin credential allowed metrics)', async () => {
    await start({ metricsEndpoint: { secret: 'metrics-secret-0123456789' } });
    const none = await fetch(`${http.url}/metrics`);
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.equal('Bearer realm="tokensmith-metrics"');
    expect(await none.json()).to.deep.equal({ error: 'ERR_METRICS_UNAUTHORIZED', error_description: 'metrics secret missing or wrong' });
    const wrong = await fetch(`${http.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret-012345678' } });
    expect(wrong.status).to.equal(401);
    // The admin secret is a credential allowed every action, scraping included (docs/audit.md).
    expect((await fetch(`${http.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_SECRET}` } })).status).to.equal(200);
    expect(sampleValue(await scrape(http.url, { authorization: 'Bearer metrics-secret-0123456789' }), 'tokensmith_policies')).to.equal(booted.engine.policies.length);
  });

  it('serves no /metrics route when turned off', async () => {
    await start({ metricsEndpoint: 'off' });
    const res = await fetch(`${http.url}/metrics`);
    expect(res.status).to.equal(404);
    expect(((await res.json()) as { error: string }).error).to.equal('ERR_NOT_FOUND');
  });
});
