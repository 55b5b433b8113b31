import { expect } from 'chai';
import { Redis } from 'ioredis';
import { ManualClock } from '../../core/clock.js';
import { sha256Bytes } from '../../core/digest.js';
import { hasReadiness } from '../../core/ports.js';
import { createApp } from '../../server/app.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { T0 } from '../helpers/boot.js';
import { listen } from '../helpers/http.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const ADMIN = 'admin-secret-lockouts-0123456789';
const APPKEY = 'lockout-appkey-0123456789abcdef';
const LICENCE = 'lockout-licence-0123456789';
const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: APPKEY, MELISSA_LICENSE: LICENCE };
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

interface Host {
  booted: Booted;
  /** Every log line the host wrote, as JSON. */
  logged: string[];
  clock: ManualClock;
  url: string;
  close(): Promise<void>;
}

async function host(store = 'memory'): Promise<Host> {
  const clock = new ManualClock(T0);
  const booted = await boot({ policies: ['policies/electa.yaml', 'policies/melissa.yaml', 'policies/emalidate.yaml'], store, env: ENV, clock });
  const { store: made } = booted;
  for (let i = 0; i < 100 && hasReadiness(made) && !(await made.ready()); i++) await new Promise((r) => setTimeout(r, 20));
  const logged: string[] = [];
  const line = (obj: object, msg?: string) => void logged.push(JSON.stringify({ ...obj, msg }));
  const http = await listen(createApp({ engine: booted.engine, adminSecret: ADMIN, logger: { info: line, warn: line, error: line } }));
  return {
    booted,
    logged,
    clock,
    url: http.url,
    async close() {
      await http.close();
      await booted.store.close();
    },
  };
}

const electa = async (h: Host, appKey: string) =>
  (await fetch(`${h.url}/apps/token.asp?${q({ CID: '42', AppKey: appKey, Result: 'csv' })}`)).text();
const melissa = async (h: Host, licence: string) => {
  const res = await fetch(`${h.url}/v3/json/Service.svc/RequestToken?${q({ L: licence, P: 'pkgExpressEntry' })}`);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
};
const auth = { authorization: `Bearer ${ADMIN}` };
const list = async (h: Host, policy: string, headers: Record<string, string> = auth) => {
  const res = await fetch(`${h.url}/admin/lockouts?${q({ policy })}`, { headers });
  return { status: res.status, text: await res.text() };
};
const unlock = async (h: Host, body: Record<string, unknown>, headers: Record<string, string> = auth) => {
  const res = await fetch(`${h.url}/admin/lockouts/unlock`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

/** What Redis Cluster hashes a key by: the text between its first `{` and the next `}`, when not empty; else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** Five wrong keys lock Electa account 42 (`threshold: 5` in policies/electa.yaml). */
async function lockElecta(h: Host): Promise<void> {
  for (let i = 0; i < 5; i++) expect(await electa(h, `wrong-${i}`)).to.match(/^1,/);
  expect(await electa(h, APPKEY)).to.match(/^2,/);
}

describe('lockout administration over HTTP (GET /admin/lockouts, POST /admin/lockouts/unlock)', () => {
  describe('on the memory store', () => {
    let h: Host;
    beforeEach(async () => {
      h = await host();
    });
    afterEach(async () => {
      await h.close();
    });

    it('lists a credential lock with its id, failures, since and until; unlocking it lets the right key in again', async () => {
      expect(JSON.parse((await list(h, 'electa')).text)).to.deep.equal({ policy: 'electa', locks: [] });
      h.clock.advance(1_000);
      await lockElecta(h);
      const listed = await list(h, 'electa');
      expect(listed.status).to.equal(200);
      expect(JSON.parse(listed.text)).to.deep.equal({
        policy: 'electa',
        locks: [{
          kind: 'credential', credential_id: '42', failures: 5, permanent: false, lock_number: 1,
          since: new Date(T0 + 1_000).toISOString(), until: new Date(T0 + 1_000 + 15 * 60_000).toISOString(),
        }],
      });
      const lifted = await unlock(h, { policy: 'electa', credential_id: '42' });
      expect(lifted.status).to.equal(200);
      expect(lifted.json).to.deep.include({ policy: 'electa' });
      expect(lifted.json['unlocked']).to.deep.include({ kind: 'credential', credential_id: '42', failures: 5 });
      expect(JSON.parse((await list(h, 'electa')).text)).to.deep.equal({ policy: 'electa', locks: [] });
      expect(await electa(h, APPKEY)).to.match(/^0,[0-9A-F-]{36}$/);
    });

    it('answers 404 ERR_LOCK_NOT_FOUND for a subject that is not locked, and changes nothing', async () => {
      for (let i = 0; i < 4; i++) await electa(h, `wrong-${i}`);
      const res = await unlock(h, { policy: 'electa', credential_id: '42' });
      expect(res).to.deep.equal({ status: 404, json: { error: 'ERR_LOCK_NOT_FOUND', error_description: 'no lock for that credential id in policy electa' } });
      // The four failures still count: one more locks.
      await electa(h, 'wrong-4');
      expect(await electa(h, APPKEY)).to.match(/^2,/);
    });

    it('shows a licence lock by a keyed fingerprint, never the secret or its digest, and lifts it by that fingerprint', async () => {
      const wrong = 'wrong-licence-0123456789';
      for (let i = 0; i < 10; i++) expect((await melissa(h, wrong)).status).to.equal(200);
      expect(await melissa(h, LICENCE)).to.deep.include({ retryAfter: '900' });
      const { text } = await list(h, 'melissa');
      const digest = sha256Bytes(wrong);
      for (const shown of [wrong, LICENCE, digest.toString('base64url', 0, 16), digest.toString('hex').slice(0, 16), digest.toString('base64').slice(0, 16)]) {
        expect(text).to.not.include(shown);
      }
      const { locks } = JSON.parse(text) as { locks: { kind: string; fingerprint?: string; address?: string }[] };
      expect(locks.map((l) => l.kind).sort()).to.deep.equal(['address', 'secret']);
      const secret = locks.find((l) => l.kind === 'secret');
      expect(secret?.fingerprint).to.match(/^[A-Za-z0-9_-]{12}$/);
      expect(Object.keys(secret ?? {}).sort()).to.deep.equal(['failures', 'fingerprint', 'kind', 'lock_number', 'permanent', 'since', 'until']);
      expect(locks.find((l) => l.kind === 'address')?.address).to.equal('127.0.0.1');
      const bySecret = await unlock(h, { policy: 'melissa', fingerprint: secret?.fingerprint });
      expect(bySecret.status).to.equal(200);
      expect(JSON.stringify(bySecret.json)).to.not.include(digest.toString('base64url', 0, 16));
      expect((await unlock(h, { policy: 'melissa', address: '127.0.0.1' })).status).to.equal(200);
      expect(JSON.parse((await list(h, 'melissa')).text)).to.deep.equal({ policy: 'melissa', locks: [] });
      expect((await melissa(h, LICENCE)).body).to.match(/"Token":"T:/);
      const log = h.logged.join('\n');
      expect(log).to.include('ERR_LOCKED_OUT');
      for (const secret of [wrong, LICENCE, ADMIN, digest.toString('base64url', 0, 16)]) expect(log).to.not.include(secret);
    });

    it('refuses a call without the admin secret, or with a wrong one, with 401 ERR_ADMIN_UNAUTHORIZED', async () => {
      await lockElecta(h);
      const refused: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-secret' }, { authorization: `Basic ${ADMIN}` }];
      for (const headers of refused) {
        const listed = await list(h, 'electa', headers);
        expect(listed.status).to.equal(401);
        expect(JSON.parse(listed.text)).to.deep.equal({ error: 'ERR_ADMIN_UNAUTHORIZED', error_description: 'admin secret missing or wrong' });
        const lifted = await unlock(h, { policy: 'electa', credential_id: '42' }, headers);
        expect(lifted.status).to.equal(401);
        expect(lifted.json['error']).to.equal('ERR_ADMIN_UNAUTHORIZED');
      }
      expect(await electa(h, APPKEY), 'still locked').to.match(/^2,/);
    });

    it('answers bad requests with stable JSON codes, never a 5xx', async () => {
      const cases: [Record<string, unknown>, number, string][] = [
        [{ credential_id: '42' }, 400, 'ERR_REQUEST_INVALID'],
        [{ policy: 'electra', credential_id: '42' }, 404, 'ERR_POLICY_UNKNOWN'],
        [{ policy: 'emalidate', credential_id: '42' }, 400, 'ERR_REQUEST_INVALID'],
        [{ policy: 'electa' }, 400, 'ERR_REQUEST_INVALID'],
        [{ policy: 'electa', credential_id: '42', address: '10.0.0.1' }, 400, 'ERR_REQUEST_INVALID'],
        [{ policy: 'electa', credential_id: 42 }, 400, 'ERR_REQUEST_INVALID'],
        [{ policy: 'electa', credential_id: '' }, 400, 'ERR_REQUEST_INVALID'],
        [{ policy: ['electa'], credential_id: '42' }, 400, 'ERR_REQUEST_INVALID'],
        [{ policy: 'melissa', address: 'not-an-address' }, 400, 'ERR_REQUEST_INVALID'],
        [{ policy: 'melissa', fingerprint: 'AAAAAAAAAAAA' }, 404, 'ERR_LOCK_NOT_FOUND'],
      ];
      for (const [body, status, code] of cases) {
        const res = await unlock(h, body);
        expect([res.status, res.json['error']], JSON.stringify(body)).to.deep.equal([status, code]);
      }
      for (const [query, status, code] of [['', 400, 'ERR_REQUEST_INVALID'], ['policy=electa&policy=melissa', 400, 'ERR_REQUEST_INVALID'], ['policy=emalidate', 400, 'ERR_REQUEST_INVALID'], ['policy=electa&limit=0', 400, 'ERR_REQUEST_INVALID'], ['policy=electa&limit=x', 400, 'ERR_REQUEST_INVALID']] as const) {
        const res = await fetch(`${h.url}/admin/lockouts?${query}`, { headers: auth });
        expect([res.status, ((await res.json()) as { error: string }).error], query).to.deep.equal([status, code]);
      }
      const bad = await fetch(`${h.url}/admin/lockouts/unlock`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"policy":' });
      expect(bad.status).to.equal(400);
      expect(((await bad.json()) as { error: string }).error).to.equal('ERR_BODY_INVALID');
      const wrongMethod = await fetch(`${h.url}/admin/lockouts`, { method: 'DELETE', headers: auth });
      expect(wrongMethod.status).to.equal(405);
    });
  });

  describe('on two hosts sharing a real Redis', function () {
    this.timeout(30_000);
    let redis: RedisServer;
    let a: Host;
    let b: Host;
    before(async () => {
      redis = await startRedis();
    });
    beforeEach(async () => {
      a = await host(redis.url);
      b = await host(redis.url);
    });
    afterEach(async () => {
      await a.close();
      await b.close();
      const client = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 5 });
      await client.flushall();
      client.disconnect();
    });
    after(async () => {
      await redis.dispose();
    });

    it('lists on B the lock made on A, unlocks it on B, and A lets the right key in again', async () => {
      await lockElecta(a);
      const listed = JSON.parse((await list(b, 'electa')).text) as { locks: Record<string, unknown>[] };
      expect(listed.locks).to.have.length(1);
      expect(listed.locks[0]).to.deep.include({ kind: 'credential', credential_id: '42', failures: 5, permanent: false, lock_number: 1 });
      expect((await unlock(b, { policy: 'electa', credential_id: '42' })).status).to.equal(200);
      expect(JSON.parse((await list(a, 'electa')).text)).to.deep.equal({ policy: 'electa', locks: [] });
      expect(await electa(a, APPKEY)).to.match(/^0,[0-9A-F-]{36}$/);
    });

    it('keeps the index in one hash slot of its own, not a scan of the keyspace', async () => {
      await lockElecta(a);
      const client = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 5 });
      try {
        const keys = (await client.keys('*index*')).sort();
        expect(keys).to.deep.equal(['tokensmith:index:{electa:lockouts}:values', 'tokensmith:index:{electa:lockouts}:when']);
        expect(keys.map(hashTag), 'one hash tag, so one slot of a cluster').to.deep.equal(['electa:lockouts', 'electa:lockouts']);
        const left = await client.pttl(keys[0] as string);
        expect(left, 'the index expires with its latest lock').to.be.within(1, 15 * 60_000);
      } finally {
        client.disconnect();
      }
    });
  });
});
