import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ManualClock } from '../../../core/clock.js';
import { PolicyInvalidError } from '../../../core/errors.js';
import type { Policy } from '../../../core/policy/types.js';
import { rateLimitGuard } from '../../../plugins/guards/rate-limit/index.js';
import { MemoryStore } from '../../../plugins/stores/memory/memory-store.js';
import { boot } from '../../../server/bootstrap.js';
import { createApp } from '../../../server/app.js';
import { T0 } from '../../helpers/boot.js';
import { formPost, host, type Host } from '../../helpers/host.js';
import { listen } from '../../helpers/http.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';

const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: 'rate-limit-appkey-0123456789', MELISSA_LICENSE: 'rate-limit-licence-0123456789' };
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
const dir = mkdtempSync(join(tmpdir(), 'ts-rate-limit-'));

/** A shipped policy with its lines changed and `extra` appended, written to a temporary file. */
function variant(file: string, extra: string, changes: [string, string][] = []): string {
  let text = readFileSync(file, 'utf8');
  for (const [from, to] of changes) {
    if (!text.includes(from)) throw new Error(`${file} no longer has "${from}"`);
    text = text.replace(from, to);
  }
  const out = join(dir, `${Math.random().toString(36).slice(2)}-${file.split('/').pop() as string}`);
  writeFileSync(out, `${text}\n${extra}\n`);
  return out;
}

const NO_LOCKOUT: [string, string] = ['lockout: { threshold: 5, window: 15m, duration: 15m, per: [credential] }', ''];
const electa = (rule: string) => variant('policies/electa.yaml', `rateLimit: ${rule}`, [NO_LOCKOUT]);
const melissa = (rule: string) => variant('policies/melissa.yaml', `rateLimit: ${rule}`);
const emalidate = (rule: string) => variant('policies/emalidate.yaml', `rateLimit: ${rule}`);

/** A request from `address`, as a trusted proxy on loopback forwards it. */
const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

describe('plugins/guards/rate-limit (rateLimit)', () => {
  describe('over HTTP on the memory store', () => {
    let h: Host;
    afterEach(() => h.close());
    const token = (address = '203.0.113.1', appKey = ENV.ELECTA_APPKEY) =>
      fetch(`${h.url}/apps/token.asp?${q({ CID: '42', AppKey: appKey, Result: 'csv' })}`, from(address));

    it('refuses the request past the limit per address with 429, Retry-After and Electa code 7, until the window ends', async () => {
      h = await host([electa('{ issue: { perAddress: { requests: 3, window: 1m } } }')], ENV, ['127.0.0.1']);
      for (let i = 0; i < 3; i++) expect((await (await token()).text()).slice(0, 2)).to.equal('0,');
      h.clock.advance(20_000);
      const refused = await token();
      expect(refused.status).to.equal(429);
      expect(refused.headers.get('retry-after')).to.equal('40');
      expect(await refused.text()).to.equal('7,Too many requests; try again in 40s');
      // Another address has its own count; the limited one is let in again once its window ends.
      expect((await (await token('203.0.113.2')).text()).slice(0, 2)).to.equal('0,');
      h.clock.advance(40_000);
      const again = await token();
      expect(again.status).to.equal(200);
      expect((await again.text()).slice(0, 2)).to.equal('0,');
    });

    it('counts an IPv6 caller per /64, and an IPv4-mapped address as its IPv4 address', async () => {
      h = await host([electa('{ issue: { perAddress: { requests: 2, window: 1m } } }')], ENV, ['127.0.0.1']);
      expect((await token('2001:db8:1:2::1')).status).to.equal(200);
      expect((await token('2001:db8:1:2:ffff::9')).status).to.equal(200);
      expect((await token('2001:db8:1:2:a:b:c:d')).status).to.equal(429);
      expect((await token('2001:db8:1:3::1')).status).to.equal(200);
      expect((await token('198.51.100.4')).status).to.equal(200);
      expect((await token('::ffff:198.51.100.4')).status).to.equal(200);
      expect((await token('198.51.100.4')).status).to.equal(429);
    });

    it('counts per credential only once its secret matched: knowing the id is not enough to use up its quota', async () => {
      h = await host([electa('{ issue: { perCredential: { requests: 2, window: 1h } } }')], ENV, ['127.0.0.1']);
      for (let i = 0; i < 6; i++) expect((await (await token(`203.0.113.${i}`, 'wrong-key')).text()).slice(0, 2)).to.equal('1,');
      expect((await token('203.0.113.10')).status).to.equal(200);
      expect((await token('203.0.113.11')).status).to.equal(200);
      const refused = await token('203.0.113.12');
      expect(refused.status).to.equal(429);
      expect(refused.headers.get('retry-after')).to.equal('3600');
      expect(await refused.text()).to.equal('7,Too many requests; try again in 1h');
    });

    it('answers Melissa callers 429 with TE08 in the route’s format (XML, JSON, the helper, a service)', async () => {
      h = await host([melissa('{ issue: { perAddress: { requests: 1, window: 30s } }, verify: { perAddress: { requests: 1, window: 30s } } }')], ENV, ['127.0.0.1']);
      const first = (await (await fetch(`${h.url}/v3/json/Service.svc/RequestToken?${q({ L: ENV.MELISSA_LICENSE })}`, from('192.0.2.1'))).json()) as { Token: string };
      expect(first.Token).to.match(/^T:/);
      const json = await fetch(`${h.url}/v3/json/Service.svc/RequestToken?${q({ L: ENV.MELISSA_LICENSE })}`, from('192.0.2.1'));
      expect([json.status, json.headers.get('retry-after'), await json.text()]).to.deep.equal([429, '30', '{"Result":"TE08","Token":""}']);
      const xml = await fetch(`${h.url}/v3/web/Service.svc/RequestToken?${q({ L: ENV.MELISSA_LICENSE })}`, from('192.0.2.1'));
      expect([xml.status, xml.headers.get('retry-after'), await xml.text()]).to.deep.equal([
        429, '30', '<RequestTokenResponse><Result>TE08</Result><Token></Token></RequestTokenResponse>',
      ]);
      const helper = await fetch(`${h.url}/melissa/gettoken`, { ...formPost({ function: 'gettoken' }, from('192.0.2.1').headers) });
      expect([helper.status, await helper.text()]).to.deep.equal([429, '[{"token":"","error":"TE08"}]']);
      const use = (address: string) => fetch(`${h.url}/melissa/demo/ExpressFreeForm?${q({ id: first.Token })}`, from(address));
      expect((await use('192.0.2.1')).status).to.equal(200);
      const service = await use('192.0.2.1');
      expect([service.status, service.headers.get('retry-after'), await service.text()]).to.deep.equal([
        429, '30', '{"Version":"tokensmith","ResultCode":"TE08","Results":[]}',
      ]);
    });

    it('answers JSON policies 429 with ERR_RATE_LIMITED', async () => {
      h = await host([emalidate('{ issue: { perAddress: { requests: 1, window: 1m } } }')], {}, ['127.0.0.1']);
      expect((await fetch(`${h.url}/emalidate/token`, { method: 'POST', ...from('192.0.2.9') })).status).to.equal(200);
      const refused = await fetch(`${h.url}/emalidate/token`, { method: 'POST', ...from('192.0.2.9') });
      expect(refused.status).to.equal(429);
      expect(refused.headers.get('retry-after')).to.equal('60');
      expect(await refused.json()).to.deep.include({ error: 'ERR_RATE_LIMITED' });
    });

    it('answers an XWS service 429 with XwsResultCode 429 Too Many Requests and ERR_RATE_LIMITED', async () => {
      const xdoc = variant('policies/xdoc.yaml', 'rateLimit: { verify: { perAddress: { requests: 1, window: 10s } } }');
      h = await host([xdoc], {}, ['127.0.0.1']);
      const demo = () => fetch(`${h.url}/xdoc/demo?${q({ XSC: 'DemoSecurityContext', XST: 'AAAA' })}`, from('192.0.2.5'));
      expect((await demo()).status).to.equal(401);
      const refused = await demo();
      expect(refused.status).to.equal(429);
      expect(refused.headers.get('retry-after')).to.equal('10');
      expect([refused.headers.get('xwsresultcode'), refused.headers.get('xwsresultinfo'), refused.headers.get('xwserrorinfo')]).to.deep.equal([
        '429', 'Too Many Requests', 'ERR_RATE_LIMITED',
      ]);
      expect(await refused.json()).to.deep.include({ error: 'ERR_RATE_LIMITED' });
    });

    it('checks the verify limit per address before the token is looked at: a caller past it learns nothing of any token', async () => {
      h = await host([electa('{ verify: { perAddress: { requests: 2, window: 1m } } }')], ENV, ['127.0.0.1']);
      const guid = (await (await token()).text()).slice(2);
      const session = (token: string) => fetch(`${h.url}/apps/session.asp?${q({ CID: '42', Token: token, Result: 'csv' })}`, from('203.0.113.1'));
      expect(await (await session('00000000-0000-4000-8000-000000000000')).text()).to.equal('4,Invalid or expired session token');
      expect((await session(guid)).status).to.equal(200);
      const [unknown, valid] = [await session('00000000-0000-4000-8000-000000000001'), await session(guid)];
      expect([unknown.status, await unknown.text()]).to.deep.equal([429, '7,Too many requests; try again in 1m']);
      expect([valid.status, await valid.text()]).to.deep.equal([429, '7,Too many requests; try again in 1m']);
      // Introspection is not a caller presenting the token: never limited.
      expect((await h.engine.introspect(guid, 'electa')).active).to.equal(true);
    });

    it('limits verify per credential by the credential the token carries', async () => {
      h = await host([electa('{ verify: { perCredential: { requests: 2, window: 1m } } }')], ENV, ['127.0.0.1']);
      const [a, b] = [(await (await token()).text()).slice(2), (await (await token()).text()).slice(2)];
      const session = (guid: string, address: string) => fetch(`${h.url}/apps/session.asp?${q({ CID: '42', Token: guid, Result: 'csv' })}`, from(address));
      expect((await session(a, '192.0.2.1')).status).to.equal(200);
      expect((await session(b, '192.0.2.2')).status).to.equal(200);
      expect((await session(a, '192.0.2.3')).status).to.equal(429);
    });

    it('counts refusals in /metrics under the code ERR_RATE_LIMITED', async () => {
      h = await host([electa('{ issue: { perAddress: { requests: 1, window: 1m } } }')], ENV, ['127.0.0.1']);
      await token();
      await token();
      await token();
      const text = await (await fetch(`${h.url}/metrics`)).text();
      expect(text).to.include('tokensmith_tokens_refused_total{policy="electa",code="ERR_RATE_LIMITED"} 2');
      expect(text).to.include('tokensmith_tokens_issued_total{policy="electa"} 1');
    });
  });

  describe('on two hosts sharing a real Redis', function () {
    this.timeout(30_000);
    let redis: RedisServer;
    const hosts: { url: string; close(): Promise<void> }[] = [];
    before(async () => {
      redis = await startRedis();
    });
    afterEach(async () => {
      await Promise.all(hosts.splice(0).map((x) => x.close()));
      const client = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 5 });
      await client.flushall();
      client.disconnect();
    });
    after(() => redis.dispose());

    /** Two apps, each with its own engine and Redis connection, on the same Redis. */
    async function twoHosts(policy: string): Promise<[string, string]> {
      for (let i = 0; i < 2; i++) {
        const booted = await boot({ policies: [policy], store: redis.url, env: ENV, clock: new ManualClock(T0) });
        const http = await listen(createApp({ engine: booted.engine, trustedProxies: ['127.0.0.1'] }));
        hosts.push({ url: http.url, close: async () => { await http.close(); await booted.store.close(); } });
      }
      return [(hosts[0] as { url: string }).url, (hosts[1] as { url: string }).url];
    }

    it('shares the count across hosts: the limit holds whichever host a caller asks (Electa CSV)', async () => {
      const [a, b] = await twoHosts(electa('{ issue: { perAddress: { requests: 4, window: 1m } } }'));
      const ask = (url: string) => fetch(`${url}/apps/token.asp?${q({ CID: '42', AppKey: ENV.ELECTA_APPKEY, Result: 'csv' })}`, from('203.0.113.7'));
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(i % 2 ? a : b)));
      expect(replies.filter((r) => r.status === 200)).to.have.length(4);
      const refused = replies.filter((r) => r.status === 429);
      expect(refused).to.have.length(6);
      for (const reply of refused) {
        const seconds = Number(reply.headers.get('retry-after'));
        expect(seconds).to.be.within(1, 60);
        expect(await reply.text()).to.match(/^7,Too many requests; try again in \d+s$|^7,Too many requests; try again in 1m$/);
      }
    });

    it('answers Melissa JSON 429 with TE08 from either host once the shared count is used up', async () => {
      const [a, b] = await twoHosts(melissa('{ issue: { perAddress: { requests: 1, window: 1m } } }'));
      const ask = (url: string) => fetch(`${url}/v3/json/Service.svc/RequestToken?${q({ L: ENV.MELISSA_LICENSE })}`, from('2001:db8:9::1'));
      expect((await ask(a)).status).to.equal(200);
      for (const url of [a, b]) {
        const refused = await ask(url);
        expect(refused.status).to.equal(429);
        expect(Number(refused.headers.get('retry-after'))).to.be.within(1, 60);
        expect(await refused.text()).to.equal('{"Result":"TE08","Token":""}');
      }
    });
  });

  describe('the guard and its checks', () => {
    const policy = (rules: Record<string, unknown>, extra: Partial<Policy> = {}) => ({ id: 'p', rules, ...extra }) as unknown as Policy;
    const deps = { store: new MemoryStore(new ManualClock(0)), clock: new ManualClock(0), lockoutStarted: () => {} };

    it('makes no guard for a policy without rateLimit, so such a policy pays nothing', () => {
      expect(rateLimitGuard.create(policy({}), deps)).to.equal(undefined);
    });

    it('has only the hooks its limits need', () => {
      const guard = rateLimitGuard.create(policy({ rateLimit: { verify: { perAddress: { requests: 1, window: '1s' } } } }), deps);
      expect(Object.keys(guard ?? {})).to.deep.equal(['beforeVerify']);
    });

    it('refuses a limit per credential without credentials, a verify one for id-less credentials, and a window under 1s', async () => {
      const file = variant('policies/emalidate.yaml', 'rateLimit: { issue: { perCredential: { requests: 1, window: 500ms } } }');
      const err = await boot({ policies: [file], env: {} }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(PolicyInvalidError);
      const messages = (err as PolicyInvalidError).issues.map((i) => `${i.path}: ${i.message}`);
      expect(messages).to.deep.equal([
        '/rateLimit/issue/perCredential: a limit per credential needs a credentials list',
        '/rateLimit/issue/perCredential/window: expected a window of at least 1s (Retry-After counts whole seconds); got 500ms',
      ]);
      const idless = rateLimitGuard.check?.(policy({ rateLimit: { verify: { perCredential: { requests: 1, window: '1m' } } } }, { credentials: [{ secret: 's' }] }));
      expect(idless).to.deep.equal([
        { path: '/rateLimit/verify/perCredential', message: 'a limit per credential on verify routes needs credentials with an id (tokens of a secret-only credential name none)' },
      ]);
    });
  });
});
