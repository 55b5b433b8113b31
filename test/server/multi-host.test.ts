import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { main } from '../../server/cli.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: 'multi-host-appkey-0123456789', MELISSA_LICENSE: 'multi-host-licence-0123', TOKENSMITH_ADMIN_SECRET: 'admin-secret-multi-host-0123456789' };
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

interface HostProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

/** A `tokensmith serve` process on the shared Redis, as an operator would start it. */
async function serve(store: string): Promise<HostProcess> {
  const child = spawn(process.execPath, ['bin/tokensmith.js', 'serve', '--port', '0', '--store', store], {
    env: { ...process.env, ...ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no listening line in 10 s: ${err}`)), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      return (await exited)[0] as number | null;
    },
  };
}

describe('several hosts on one Redis (real processes, real redis-server)', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let a: HostProcess;
  let b: HostProcess;
  const issue = async (host: HostProcess, appKey = ENV.ELECTA_APPKEY) =>
    (await fetch(`${host.url}/apps/token.asp?${q({ CID: '42', AppKey: appKey, Result: 'csv' })}`)).text();
  const session = async (host: HostProcess, token: string) =>
    (await fetch(`${host.url}/apps/session.asp?${q({ CID: '42', Token: token, Result: 'csv' })}`)).text();

  before(async () => {
    redis = await startRedis();
  });
  beforeEach(async () => {
    [a, b] = await Promise.all([serve(redis.url), serve(redis.url)]);
  });
  afterEach(async () => {
    await Promise.all([a.stop(), b.stop()]);
    // A clean slate for the next test: lockouts and sessions live in Redis.
    const client = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 5 });
    await client.flushall();
    client.disconnect();
  });
  after(async () => {
    await redis.dispose();
  });

  it('verifies on one host a session issued by the other, and sees the other’s revocation', async () => {
    const reply = await issue(a);
    expect(reply).to.match(/^0,[0-9A-F-]{36}$/);
    const guid = reply.slice(2);
    expect(JSON.parse(await session(b, guid))).to.include({ ok: true, policy: 'electa' });
    const revoked = await fetch(`${a.url}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ENV.TOKENSMITH_ADMIN_SECRET}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: q({ token: guid }),
    });
    expect(revoked.status).to.equal(200);
    expect(await session(b, guid)).to.equal('4,Invalid or expired session token');
  });

  it('counts exactly the threshold over 100 concurrent wrong attempts spread over both hosts', async () => {
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => issue(i % 2 ? a : b, 'wrong-key')));
    expect(replies.filter((r) => r.startsWith('1,'))).to.have.length(5);
    expect(replies.filter((r) => r.startsWith('2,'))).to.have.length(95);
    expect((await issue(a)).slice(0, 2)).to.equal('2,');
    expect((await issue(b)).slice(0, 2)).to.equal('2,');
  });

  it('does not let same-origin helper calls on one host reset the address count of wrong licences sent to the other', async () => {
    const wrongLicence = async (host: HostProcess, i: number) =>
      ((await (await fetch(`${host.url}/v3/json/Service.svc/RequestToken?${q({ L: `wrong-${i}` })}`)).json()) as { Result: string }).Result;
    const helper = async (host: HostProcess) => {
      const res = await fetch(`${host.url}/melissa/gettoken`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: q({ function: 'gettoken' }) });
      const [reply] = (await res.json()) as [{ token: string; error?: string }];
      return reply.token === '' ? `helper ${reply.error}` : 'helper ok';
    };
    const results: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 9; i++) results.push(await wrongLicence(i % 2 ? a : b, round * 9 + i));
      results.push(await helper(round % 2 ? b : a));
    }
    expect(results.filter((r) => r === 'TE01')).to.have.length(10);
    expect(results.slice(0, 11)).to.deep.equal([...Array(9).fill('TE01'), 'helper ok', 'TE01']);
    expect(new Set(results.slice(11))).to.deep.equal(new Set(['TE05', 'helper TE05']));
  });

  it('loses nothing when a host restarts: sessions and lockouts survive', async () => {
    const guid = (await issue(a)).slice(2);
    for (let i = 0; i < 5; i++) await issue(b, 'wrong-key');
    expect(await a.stop()).to.equal(0);
    a = await serve(redis.url);
    expect(JSON.parse(await session(a, guid))).to.include({ ok: true });
    expect((await issue(a)).slice(0, 2)).to.equal('2,');
  });

  it('answers quickly and says not ready while Redis is down, and resumes without a restart', async () => {
    const guid = (await issue(a)).slice(2);
    await redis.stop();
    const started = Date.now();
    expect(await issue(a)).to.equal('8,Service temporarily unavailable');
    expect(await session(b, guid)).to.equal('8,Service temporarily unavailable');
    expect(Date.now() - started).to.be.below(2_000);
    const ready = await fetch(`${a.url}/readyz`);
    expect(ready.status).to.equal(503);
    expect(await ready.json()).to.deep.equal({ status: 'not ready', store: 'unavailable' });
    await redis.start();
    let reply = '';
    for (let i = 0; i < 100 && !reply.startsWith('0,'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      reply = await issue(a);
    }
    expect(reply).to.match(/^0,[0-9A-F-]{36}$/);
    // Host b reconnects on its own schedule: wait (bounded) until it says it is ready.
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      status = (await fetch(`${b.url}/readyz`)).status;
    }
    expect(status).to.equal(200);
    expect(JSON.parse(await session(b, guid))).to.include({ ok: true });
  });

  it('lets the command line verify a session a host issued (tokensmith verify --store)', async () => {
    const guid = (await issue(a)).slice(2);
    const out: string[] = [];
    const code = await main(['verify', '--policy', 'electa', '--store', redis.url, '--param', 'CID=42', guid], {
      out: (t) => out.push(t), err: () => {}, env: ENV,
    });
    expect(code).to.equal(0);
    expect(JSON.parse(out.join('\n'))).to.include({ policyId: 'electa', credentialId: '42' });
  });
});
