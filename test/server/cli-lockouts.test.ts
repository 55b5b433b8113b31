import { expect } from 'chai';
import { Redis } from 'ioredis';
import { hasReadiness } from '../../core/ports.js';
import { main } from '../../server/cli.js';
import { createApp } from '../../server/app.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { freePort, startRedis, type RedisServer } from '../helpers/redis.js';
import { listen } from '../helpers/http.js';

const ADMIN = 'admin-secret-cli-lockouts-0123456789';
const APPKEY = 'cli-lockout-appkey-0123456789abcdef';
const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: APPKEY };

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env, storeWaitMs: 5_000 });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** An Electa host (policies/electa.yaml) on `store`, listening on loopback. */
async function electaHost(store: string) {
  const booted: Booted = await boot({ policies: ['policies/electa.yaml'], store, env: ENV });
  const { store: made } = booted;
  for (let i = 0; i < 100 && hasReadiness(made) && !(await made.ready()); i++) await new Promise((r) => setTimeout(r, 20));
  const http = await listen(createApp({ engine: booted.engine, adminSecret: ADMIN }));
  const issue = async (appKey: string) => (await fetch(`${http.url}/apps/token.asp?CID=42&AppKey=${appKey}&Result=csv`)).text();
  return {
    url: http.url,
    issue,
    async lock() {
      for (let i = 0; i < 5; i++) expect(await issue(`wrong-${i}`)).to.match(/^1,/);
      expect(await issue(APPKEY)).to.match(/^2,/);
    },
    async close() {
      await http.close();
      await booted.store.close();
    },
  };
}

describe('tokensmith lockouts list|unlock', () => {
  describe('against a running server (--url, TOKENSMITH_ADMIN_SECRET)', () => {
    let host: Awaited<ReturnType<typeof electaHost>>;
    beforeEach(async () => {
      host = await electaHost('memory');
    });
    afterEach(async () => {
      await host.close();
    });

    it('lists the lock as JSON, lifts it, and then says there is none', async () => {
      await host.lock();
      const env = { TOKENSMITH_ADMIN_SECRET: ADMIN };
      const listed = await run(['lockouts', 'list', '--policy', 'electa', '--url', host.url], env);
      expect(listed.code, listed.err).to.equal(0);
      const { locks } = JSON.parse(listed.out) as { locks: Record<string, unknown>[] };
      expect(locks).to.have.length(1);
      expect(locks[0]).to.deep.include({ kind: 'credential', credential_id: '42', failures: 5 });
      const lifted = await run(['lockouts', 'unlock', '--policy', 'electa', '--credential-id', '42', '--url', host.url], env);
      expect(lifted.code, lifted.err).to.equal(0);
      expect(JSON.parse(lifted.out)).to.deep.include({ policy: 'electa' });
      expect(await host.issue(APPKEY)).to.match(/^0,/);
      const again = await run(['lockouts', 'unlock', '--policy', 'electa', '--credential-id', '42', '--url', host.url], env);
      expect(again).to.deep.equal({ code: 1, out: '', err: 'ERR_LOCK_NOT_FOUND: no lock for that credential id in policy electa' });
    });

    it('exits 1 with one line, never showing the secret, when the secret is missing or wrong or the server unreachable', async () => {
      const missing = await run(['lockouts', 'list', '--policy', 'electa', '--url', host.url]);
      expect(missing).to.deep.equal({ code: 1, out: '', err: 'tokensmith: TOKENSMITH_ADMIN_SECRET is not set; the admin API of the server at --url needs it' });
      const wrong = await run(['lockouts', 'list', '--policy', 'electa', '--url', host.url], { TOKENSMITH_ADMIN_SECRET: 'not-the-admin-secret-xyz' });
      expect(wrong).to.deep.equal({ code: 1, out: '', err: 'ERR_ADMIN_UNAUTHORIZED: admin secret missing or wrong' });
      const port = await freePort();
      const down = await run(['lockouts', 'list', '--policy', 'electa', '--url', `http://127.0.0.1:${port}`], { TOKENSMITH_ADMIN_SECRET: ADMIN });
      expect(down.code).to.equal(1);
      expect(down.err).to.equal(`tokensmith: cannot reach the server at http://127.0.0.1:${port} (ECONNREFUSED); check --url and that it is running`);
      expect(down.err + wrong.err).to.not.include(ADMIN);
    });

    it('exits 2 on a usage mistake', async () => {
      for (const argv of [
        ['lockouts', '--policy', 'electa', '--url', host.url],
        ['lockouts', 'drop', '--policy', 'electa', '--url', host.url],
        ['lockouts', 'list', '--url', host.url],
        ['lockouts', 'unlock', '--policy', 'electa', '--url', host.url],
        ['lockouts', 'unlock', '--policy', 'electa', '--credential-id', '42', '--address', '10.0.0.1', '--url', host.url],
        ['lockouts', 'list', '--policy', 'electa', '--address', '10.0.0.1', '--url', host.url],
        ['lockouts', 'list', '--policy', 'electa', '--limit', '0', '--url', host.url],
        ['lockouts', 'list', '--policy', 'electa', '--url', 'ftp://127.0.0.1/'],
        ['lockouts', 'list', '--policy', 'electa', '--store', 'memory', '--policies', 'policies/electa.yaml'],
      ]) {
        const { code, err } = await run(argv, { TOKENSMITH_ADMIN_SECRET: ADMIN });
        expect(code, argv.join(' ')).to.equal(2);
        expect(err, argv.join(' ')).to.include('Run "tokensmith lockouts --help" for its flags.');
      }
    });

    it('is listed in the help with its flags', async () => {
      expect((await run(['--help'])).out).to.match(/\n {2}lockouts +list a policy's locks, or lift one/);
      const help = await run(['help', 'lockouts']);
      expect(help.out).to.include('usage: tokensmith lockouts --policy ID [--url URL] [--credential-id ID] [--address ADDR] [--fingerprint FP]');
      expect(help.out).to.include('TOKENSMITH_ADMIN_SECRET: with --url');
    });
  });

  describe('directly against a shared store (--store redis://…, real redis-server)', function () {
    this.timeout(30_000);
    let redis: RedisServer;
    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      const client = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 5 });
      await client.flushall();
      client.disconnect();
      await redis.dispose();
    });

    it('lists the lock a server made, lifts it, and the server lets the right key in again', async () => {
      const host = await electaHost(redis.url);
      try {
        await host.lock();
        const args = ['--policy', 'electa', '--store', redis.url, '--policies', 'policies/electa.yaml'];
        const listed = await run(['lockouts', 'list', ...args], ENV);
        expect(listed.code, listed.err).to.equal(0);
        expect((JSON.parse(listed.out) as { locks: unknown[] }).locks).to.have.length(1);
        const lifted = await run(['lockouts', 'unlock', ...args, '--credential-id', '42'], ENV);
        expect(lifted.code, lifted.err).to.equal(0);
        expect(await host.issue(APPKEY)).to.match(/^0,/);
        expect(JSON.parse((await run(['lockouts', 'list', ...args], ENV)).out)).to.deep.equal({ policy: 'electa', locks: [] });
      } finally {
        await host.close();
      }
    });
  });
});
