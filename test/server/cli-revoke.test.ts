import { expect } from 'chai';
import { Redis } from 'ioredis';
import { ManualClock, SystemClock } from '../../core/clock.js';
import { hasReadiness, type Clock } from '../../core/ports.js';
import { tokenRequestFrom } from '../../core/request.js';
import { createApp } from '../../server/app.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { main } from '../../server/cli.js';
import { T0 } from '../helpers/boot.js';
import { ADMIN_SECRET } from '../helpers/host.js';
import { listen } from '../helpers/http.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const ROOMS = 'test/fixtures/bulk-revoke/rooms.yaml';
const API = 'test/fixtures/bulk-revoke/api.yaml';
const KEY42 = { CID: '42', AppKey: 'rooms-appkey-42-0123456789' };
const KEY43 = { CID: '43', AppKey: 'rooms-appkey-43-0123456789' };

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A served policy set (a real socket) on `store`, and what it issued. */
async function server(store: string, clock: Clock = new ManualClock(T0)): Promise<Booted & { url: string; close(): Promise<void>; issue(params: Record<string, string>): Promise<string>; valid(token: string, cid: string): Promise<boolean> }> {
  const booted = await boot({ policies: [ROOMS, API], store, env: {}, clock });
  // A Redis store connects in the background: wait (bounded) until it answers.
  for (let i = 0; i < 100 && hasReadiness(booted.store) && !(await booted.store.ready()); i++) await new Promise((r) => setTimeout(r, 20));
  const http = await listen(createApp({ engine: booted.engine, adminSecret: ADMIN_SECRET }));
  const request = (params: Record<string, string>) => tokenRequestFrom(params, '127.0.0.1');
  return {
    ...booted,
    url: http.url,
    async close() {
      await http.close();
      await booted.store.close();
    },
    issue: async (params) => (await booted.engine.issue('rooms', request(params))).token,
    valid: (token, cid) => booted.engine.verify('rooms', token, request({ CID: cid, Token: token })).then(() => true, () => false),
  };
}

describe('tokensmith revoke', function () {
  this.timeout(30_000);

  describe('against a running server (--url)', () => {
    let host: Awaited<ReturnType<typeof server>>;
    before(async () => {
      host = await server('memory');
    });
    after(async () => {
      await host.close();
    });

    it('revokes every session of a credential through POST /revoke and prints the answer', async () => {
      const mine = [await host.issue(KEY42), await host.issue(KEY42)];
      const other = await host.issue(KEY43);
      const { code, out } = await run(['revoke', '--url', host.url, '--policy', 'rooms', '--credential-id', '42'], { TOKENSMITH_ADMIN_SECRET: ADMIN_SECRET });
      expect(code).to.equal(0);
      expect(JSON.parse(out)).to.deep.equal({ policy: 'rooms', credential_id: '42', revoked: 2 });
      for (const token of mine) expect(await host.valid(token, '42')).to.equal(false);
      expect(await host.valid(other, '43')).to.equal(true);
    });

    it('revokes one TOKEN (RFC 7009)', async () => {
      const token = await host.issue(KEY43);
      const { code } = await run(['revoke', '--url', host.url, '--policy', 'rooms', token], { TOKENSMITH_ADMIN_SECRET: ADMIN_SECRET });
      expect(code).to.equal(0);
      expect(await host.valid(token, '43')).to.equal(false);
    });

    it('prints the server’s refusal as CODE: message and exits 1', async () => {
      const wrong = await run(['revoke', '--url', host.url, '--policy', 'rooms', '--sub', 'pat'], { TOKENSMITH_ADMIN_SECRET: 'not-the-admin-secret-0123456789' });
      expect([wrong.code, wrong.err]).to.deep.equal([1, 'ERR_ADMIN_UNAUTHORIZED: admin secret missing or wrong']);
      const unknown = await run(['revoke', '--url', host.url, '--policy', 'roms', '--sub', 'pat'], { TOKENSMITH_ADMIN_SECRET: ADMIN_SECRET });
      expect(unknown.code).to.equal(1);
      expect(unknown.err).to.match(/^ERR_POLICY_UNKNOWN: no policy "roms"/);
    });
  });

  describe('usage mistakes (exit 2, nothing revoked)', () => {
    const cases: [string, string[], Record<string, string>, RegExp][] = [
      ['no owner', ['revoke', '--policy', 'rooms', '--url', 'http://127.0.0.1:9'], { TOKENSMITH_ADMIN_SECRET: ADMIN_SECRET }, /give exactly one of/],
      ['two owners', ['revoke', '--policy', 'rooms', '--credential-id', '42', '--sub', 'pat'], {}, /give exactly one of/],
      ['no --policy', ['revoke', '--sub', 'pat'], {}, /needs --policy ID/],
      ['the memory store without --url', ['revoke', '--policy', 'rooms', '--sub', 'pat'], {}, /needs the store the servers share/],
      ['--url without the admin secret', ['revoke', '--policy', 'rooms', '--sub', 'pat', '--url', 'http://127.0.0.1:9'], {}, /needs TOKENSMITH_ADMIN_SECRET/],
      ['--url not http', ['revoke', '--policy', 'rooms', '--sub', 'pat', '--url', 'file:///etc'], { TOKENSMITH_ADMIN_SECRET: ADMIN_SECRET }, /must be http: or https:/],
    ];
    for (const [label, argv, env, message] of cases) {
      it(label, async () => {
        const { code, err } = await run(argv, env);
        expect(code).to.equal(2);
        expect(err).to.match(message);
      });
    }
  });

  describe('directly in a shared Redis (--store)', () => {
    let redis: RedisServer;
    let host: Awaited<ReturnType<typeof server>>;
    before(async () => {
      redis = await startRedis();
      // The command runs on the system clock, as every host sharing a store must (their clocks agree).
      host = await server(redis.url, new SystemClock());
    });
    after(async () => {
      await host.close();
      const client = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 5 });
      await client.flushall();
      client.disconnect();
      await redis.dispose();
    });

    it('revokes a subject’s sessions that a running server issued, as that server then sees', async () => {
      const pat = [await host.issue(KEY42), await host.issue(KEY43)];
      const kim = await host.issue({ CID: '44', AppKey: 'rooms-appkey-44-0123456789' });
      const { code, out, err } = await run(['revoke', '--store', redis.url, '--policies', ROOMS, '--policies', API, '--policy', 'rooms', '--sub', 'pat']);
      expect(err).to.equal('');
      expect(code).to.equal(0);
      expect(JSON.parse(out)).to.deep.equal({ policy: 'rooms', sub: 'pat', revoked: 2 });
      expect(await host.valid(pat[0] as string, '42')).to.equal(false);
      expect(await host.valid(pat[1] as string, '43')).to.equal(false);
      expect(await host.valid(kim, '44')).to.equal(true);
    });
  });
});
