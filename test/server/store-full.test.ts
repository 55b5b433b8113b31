import { expect } from 'chai';
import { ManualClock } from '../../core/clock.js';
import type { Logger } from '../../core/ports.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp } from '../../server/app.js';
import { Metrics } from '../../server/metrics.js';
import { FIXTURE_PLUGIN, FIXTURE_POLICY, T0 } from '../helpers/boot.js';
import { formPost } from '../helpers/host.js';
import { listen } from '../helpers/http.js';
import { parseMetrics, sampleValue } from '../helpers/prometheus.js';

const LICENCE = 'store-full-licence-0123456789';
const APPKEY = 'STORE-FULL-APPKEY-0123456789ABCDEF';
const ENV = { MELISSA_LICENSE: LICENCE, ELECTA_CID: '42', ELECTA_APPKEY: APPKEY };
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

interface Line {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

describe('a full memory store (--store memory:?maxEntries=N), over a real socket', () => {
  let booted: Booted;
  let http: Awaited<ReturnType<typeof listen>>;
  let clock: ManualClock;
  let lines: Line[];
  let metrics: Metrics;

  async function start(store: string, policies = ['policies/melissa.yaml', 'policies/electa.yaml'], plugins: string[] = []): Promise<void> {
    clock = new ManualClock(T0);
    lines = [];
    const logger: Logger = {
      info: (obj, msg) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
      warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      error: (obj, msg) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
    };
    metrics = new Metrics();
    booted = await boot({ policies, plugins, store, env: ENV, clock });
    http = await listen(createApp({ engine: booted.engine, trustedProxies: ['127.0.0.1'], logger, metrics }));
  }
  afterEach(async () => {
    await http.close();
    await booted.store.close();
  });

  const helper = async (from = '198.51.100.1') =>
    ((await (await fetch(`${http.url}/melissa/gettoken`, formPost({ function: 'gettoken' }, { 'x-forwarded-for': from }))).json()) as [
      { token: string; error?: string },
    ])[0];
  const melissaJson = async (params: Record<string, string>, from = '198.51.100.1') =>
    (await (await fetch(`${http.url}/v3/json/Service.svc/RequestToken?${q(params)}`, { headers: { 'x-forwarded-for': from } })).json()) as {
      Result: string;
      Token: string;
    };
  const storeFullLines = () => lines.filter((l) => l.obj['warning'] === 'store-full');

  it('refuses a new Melissa session with TE06 in every reply format, counts it, and serves again when sessions expire', async () => {
    await start('memory:?maxEntries=3');
    for (let i = 0; i < 3; i++) expect((await helper()).token).to.match(/^T:/);
    expect(await helper()).to.deep.equal({ token: '', error: 'TE06' });
    expect(await melissaJson({ L: LICENCE })).to.deep.equal({ Result: 'TE06', Token: '' });
    const xml = await fetch(`${http.url}/v3/web/Service.svc/RequestToken?${q({ L: LICENCE })}`);
    expect([xml.status, await xml.text()]).to.deep.equal([200, '<RequestTokenResponse><Result>TE06</Result><Token></Token></RequestTokenResponse>']);
    const samples = parseMetrics(await (await fetch(`${http.url}/metrics`)).text());
    expect(sampleValue(samples, 'tokensmith_store_full_total')).to.equal(3);
    expect(sampleValue(samples, 'tokensmith_tokens_refused_total', { policy: 'melissa', code: 'ERR_STORE_FULL' })).to.equal(3);
    // The helper's sessions live the policy's default, 5 minutes: then they are swept and room is back.
    clock.advance(5 * 60_000);
    expect((await helper()).token).to.match(/^T:/);
  });

  it('refuses a new Electa session with code 8', async () => {
    await start('memory:?maxEntries=1');
    const issue = () => fetch(`${http.url}/apps/token.asp?${q({ CID: '42', AppKey: APPKEY, Result: 'csv' })}`).then((r) => r.text());
    expect(await issue()).to.match(/^0,[0-9A-F-]{36}$/);
    expect(await issue()).to.equal('8,Service temporarily unavailable');
  });

  it('answers a JSON route 503 ERR_STORE_FULL', async () => {
    await start('memory:?maxEntries=1', [FIXTURE_POLICY], [FIXTURE_PLUGIN]);
    const issue = () => fetch(`${http.url}/fixture/token?${q({ client_id: 'alice', client_secret: 'alice-secret-0001' })}`);
    expect((await issue()).status).to.equal(200);
    const res = await issue();
    expect(res.status).to.equal(503);
    expect(await res.json()).to.deep.equal({
      error: 'ERR_STORE_FULL',
      error_description: 'the token store is full; try again later',
    });
  });

  it('logs one warning at the first refusal and then at most one a minute, with the refusals since; no error line', async () => {
    await start('memory:?maxEntries=1');
    await helper();
    for (let i = 0; i < 5; i++) await helper();
    expect(storeFullLines().map((l) => [l.level, l.obj['refused']])).to.deep.equal([['warn', 1]]);
    clock.advance(59_999);
    await helper();
    expect(storeFullLines()).to.have.length(1);
    clock.advance(1);
    await helper();
    expect(storeFullLines().map((l) => l.obj['refused'])).to.deep.equal([1, 6]);
    expect(lines.filter((l) => l.level === 'error')).to.deep.equal([]);
    expect(lines.filter((l) => l.obj['outcome'] === 'ERR_STORE_FULL')).to.have.length(7);
  });

  it('keeps counting failures and locking when sessions fill it (lockout counters have their own bound)', async () => {
    await start('memory:?maxEntries=1');
    expect((await helper()).token).to.match(/^T:/);
    const results: string[] = [];
    for (let i = 0; i < 12; i++) results.push((await melissaJson({ L: `wrong-${i}` })).Result);
    expect(results).to.deep.equal([...Array(10).fill('TE01'), 'TE05', 'TE05']);
    expect(await helper()).to.deep.equal({ token: '', error: 'TE05' });
  });

  it('at the counter bound, refuses an attempt that would need a new counter before comparing its secret: right or wrong, the same TE06', async () => {
    await start('memory:?maxEntries=100&maxCounters=2');
    // Address A's wrong licence takes both counters (its digest and A's address).
    expect((await melissaJson({ L: 'wrong-a' }, '198.51.100.1')).Result).to.equal('TE01');
    expect((await melissaJson({ L: 'wrong-b' }, '198.51.100.2')).Result).to.equal('TE06');
    expect((await melissaJson({ L: LICENCE }, '198.51.100.2')).Result).to.equal('TE06');
    expect(await helper('198.51.100.2')).to.deep.equal({ token: '', error: 'TE06' });
    // A repeats a counted wrong licence: both its counters exist, so it is counted and answered.
    expect((await melissaJson({ L: 'wrong-a' }, '198.51.100.1')).Result).to.equal('TE01');
    // The window ends, the counters expire, and new callers are served again.
    clock.advance(15 * 60_000);
    expect((await melissaJson({ L: LICENCE }, '198.51.100.2')).Token).to.match(/^T:/);
  });
});
