import { expect } from 'chai';
import { BENCH_ENV } from '../../bench/env.js';
import { rateLimitedPolicies } from '../../bench/rate-limit.js';
import { tokenRequestFrom } from '../../core/request.js';
import { boot } from '../../server/bootstrap.js';
import { guardedHandSessions, handSessions } from '../../bench/hand-sessions.js';
import { listen } from '../helpers/http.js';

/**
 * The benchmark's hand-written baselines must do the job they stand for: a baseline that failed
 * every request (with Electa's 200 replies the load generator would not notice) would flatter ours.
 */
describe('bench baselines (hand-written session routes)', () => {
  const electaIssue = `/apps/token.asp?CID=${BENCH_ENV['ELECTA_CID']}&AppKey=${BENCH_ENV['ELECTA_APPKEY']}`;
  const melissaIssue = `/v3/web/Service.svc/RequestToken?L=${BENCH_ENV['MELISSA_LICENSE']}&P=pkgExpressEntry`;
  const lines: string[] = [];
  const logger = { info: (obj: object, msg: string) => void lines.push(JSON.stringify({ ...obj, msg })), warn() {}, error() {} };

  for (const [name, make] of [['plain', () => handSessions()], ['guarded', () => guardedHandSessions(logger)]] as const) {
    it(`${name}: issues Electa and Melissa sessions that verify, and refuses a wrong account`, async () => {
      const host = await listen(make());
      try {
        const electa = await (await fetch(host.url + electaIssue)).text();
        const guid = /<ResponseCode>0<\/ResponseCode><ResponseData>([0-9A-F-]{36})</.exec(electa)?.[1];
        expect(guid, electa).to.be.a('string');
        // The verify routes answer what the session says, as our demo routes do: the same work to reply.
        const soon = (exp: unknown) => typeof exp === 'number' && exp > Date.now() / 1000 && exp <= Date.now() / 1000 + 1_200;
        const electaShown = (await (await fetch(`${host.url}/apps/session.asp?CID=${BENCH_ENV['ELECTA_CID']}&Token=${guid}`)).json()) as { exp: unknown };
        expect(electaShown).to.deep.include({ ok: true, policy: 'electa', scope: [] });
        expect(soon(electaShown.exp), String(electaShown.exp)).to.equal(true);
        expect(await (await fetch(`${host.url}/apps/session.asp?CID=999&Token=${guid}`)).text()).to.contain('<ResponseCode>4<');
        const melissa = await (await fetch(host.url + melissaIssue)).text();
        const token = /<Token>(T:[\w-]{32})</.exec(melissa)?.[1];
        expect(token, melissa).to.be.a('string');
        const melissaShown = (await (await fetch(`${host.url}/melissa/demo/ExpressFreeForm?id=${token}`)).json()) as { exp: unknown };
        expect(melissaShown).to.deep.include({ ok: true, policy: 'melissa', scope: ['pkgExpressEntry'] });
        expect(soon(melissaShown.exp), String(melissaShown.exp)).to.equal(true);
        expect(await (await fetch(`${host.url}/melissa/demo/ExpressFreeForm?id=T:nope`)).text()).to.contain('GE05');
      } finally {
        await host.close();
      }
    });
  }

  it('guarded: locks the account after five failures (correct key or not), logs one line per request', async () => {
    lines.length = 0;
    const host = await listen(guardedHandSessions(logger));
    try {
      const wrong = `/apps/token.asp?CID=${BENCH_ENV['ELECTA_CID']}&AppKey=wrong`;
      for (let i = 0; i < 5; i++) expect(await (await fetch(host.url + wrong)).text()).to.contain('<ResponseCode>1<');
      expect(await (await fetch(host.url + electaIssue)).text()).to.contain('<ResponseCode>2<');
      expect(lines).to.have.length(6);
      expect(JSON.parse(lines[5] as string)).to.include({ kind: 'issue', policy: 'electa', outcome: 'locked', msg: 'token request' });
    } finally {
      await host.close();
    }
  });
});

describe('bench baselines: the guarded routes hold sessions as issue 14 asks of a store', () => {
  const electaIssue = `/apps/token.asp?CID=${BENCH_ENV['ELECTA_CID']}&AppKey=${BENCH_ENV['ELECTA_APPKEY']}`;
  const silent = { info() {}, warn() {}, error() {} };
  const issued = async (url: string) => /<ResponseCode>(\d+)<\/ResponseCode><ResponseData>([^<]*)</.exec(await (await fetch(url + electaIssue)).text())?.slice(1);

  it('refuses an issue past maxSessions (Electa 8), and takes sessions again once the held ones expire', async () => {
    let now = Date.parse('2026-11-29T12:00:00Z');
    const host = await listen(guardedHandSessions(silent, { maxSessions: 2, now: () => now }));
    try {
      const first = await issued(host.url);
      expect(first?.[0]).to.equal('0');
      expect((await issued(host.url))?.[0]).to.equal('0');
      expect(await issued(host.url)).to.deep.equal(['8', 'Try again later']);
      now += 1_200_000; // Electa's 20 minutes: both held sessions have expired
      expect((await issued(host.url))?.[0]).to.equal('0');
      const shown = await fetch(`${host.url}/apps/session.asp?CID=${BENCH_ENV['ELECTA_CID']}&Token=${first?.[1]}`);
      expect(await shown.text()).to.contain('<ResponseCode>4<');
    } finally {
      await host.close();
    }
  });

  it('refuses an attempt whose failure it could not count, before comparing its key', async () => {
    const host = await listen(guardedHandSessions(silent, { maxCounters: 1 }));
    try {
      const wrong = (cid: string) => `${host.url}/apps/token.asp?CID=${cid}&AppKey=wrong`;
      expect(await (await fetch(wrong('1'))).text()).to.contain('<ResponseCode>1<');
      expect(await (await fetch(wrong('2'))).text()).to.contain('<ResponseCode>8<');
      expect(await (await fetch(wrong('1'))).text()).to.contain('<ResponseCode>1<');
    } finally {
      await host.close();
    }
  });
});

describe('bench rate-limited Melissa policy (the limiter pair)', () => {
  it('has the limiter on its issue routes and refuses nothing at the bench’s volume from one address', async () => {
    const { engine, store } = await boot({ policies: rateLimitedPolicies(), store: 'memory', env: BENCH_ENV });
    try {
      expect(engine.policy('melissa').rules['rateLimit']).to.have.keys('issue');
      const request = tokenRequestFrom({ L: BENCH_ENV['MELISSA_LICENSE'] as string, P: 'pkgExpressEntry' }, '127.0.0.1');
      for (let i = 0; i < 200; i++) expect((await engine.issue('melissa', request)).token).to.match(/^T:/);
      expect(await store.get('melissa:rate:issue:a:127.0.0.1')).to.equal('200');
    } finally {
      await store.close();
    }
  });
});
