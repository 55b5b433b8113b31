import { expect } from 'chai';
import { Redis } from 'ioredis';
import { ManualClock } from '../../core/clock.js';
import { sha256 } from '../../core/digest.js';
import { tokenRequestFrom } from '../../core/request.js';
import type { RedisStore } from '../../plugins/stores/redis/index.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { FIXTURE_PLUGIN, FIXTURE_POLICY, T0 } from '../helpers/boot.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const ALICE = { client_id: 'alice', client_secret: 'alice-secret-0001' };
const ELECTA = { CID: '123456', AppKey: 'token-at-rest-appkey-0123456789' };
const MELISSA = 'token-at-rest-licence-0123';

/**
 * Every key the store holds under its prefix, with its value: a string as it is; a bulk
 * revocation index (a sorted set of session keys) and a stamp set (a hash) as their members joined.
 */
async function everything(redis: Redis): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', 'tokensmith:*', 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'zset') held.set(key, (await redis.zrange(key, 0, -1)).join(' '));
      else if (type === 'hash') held.set(key, Object.entries(await redis.hgetall(key)).flat().join(' '));
      else held.set(key, (await redis.get(key)) ?? '');
    }
  } while (cursor !== '0');
  return held;
}

/**
 * What the shared store holds at rest, read back key by key with Redis's own SCAN: a session
 * token is kept only as its SHA-256 (anyone who can read the store cannot use what is there),
 * and no secret of a caller is kept either.
 */
describe('the store at rest (real redis-server on loopback): no usable token, no secret', function () {
  this.timeout(30_000);
  let server: RedisServer;
  let h: Booted;
  let redis: Redis;
  before(async () => {
    server = await startRedis();
    h = await boot({
      policies: [FIXTURE_POLICY, 'policies/electa.yaml', 'policies/melissa.yaml'],
      plugins: [FIXTURE_PLUGIN],
      store: server.url,
      env: { ELECTA_CID: ELECTA.CID, ELECTA_APPKEY: ELECTA.AppKey, MELISSA_LICENSE: MELISSA },
      clock: new ManualClock(T0),
    });
    // The store connects in the background and refuses calls until then (no offline queue): on a
    // busy machine the first issue could otherwise come first.
    for (let i = 0; i < 100 && !(await (h.store as RedisStore).ready()); i++) await new Promise((r) => setTimeout(r, 50));
    redis = new Redis(server.url);
  });
  after(async () => {
    redis.disconnect();
    await h.store.close();
    await server.dispose();
  });

  it('holds each opaque token only under its digest, and neither tokens nor secrets anywhere', async () => {
    const issued = [
      (await h.engine.issue('fixture', tokenRequestFrom(ALICE, '10.1.1.1'))).token,
      (await h.engine.issue('electa', tokenRequestFrom(ELECTA, '10.1.1.1'))).token,
      (await h.engine.issue('melissa', tokenRequestFrom({ L: MELISSA, P: 'pkgExpressEntry' }, '10.1.1.1'))).token,
    ];
    // Failed attempts leave lockout counters: keyed by id or by a digest of the secret, never the secret.
    await h.engine.issue('fixture', tokenRequestFrom({ client_id: 'alice', client_secret: 'wrong-secret-alice-0001' }, '10.1.1.1')).catch(() => undefined);
    await h.engine.issue('melissa', tokenRequestFrom({ L: 'wrong-licence-melissa-0001' }, '10.1.1.1')).catch(() => undefined);

    const held = await everything(redis);
    expect(held.size, 'the store holds the sessions and counters').to.be.at.least(issued.length + 2);
    for (const [policy, token] of [['fixture', issued[0]], ['electa', issued[1]], ['melissa', issued[2]]] as const) {
      expect(held.has(`tokensmith:${policy}:token:${sha256(token as string)}`), `${policy}: the session under its digest`).to.equal(true);
    }
    // Bulk revocation lists each session of a credential under its digest too (an index, a sorted set).
    expect(held.get(`tokensmith:{electa:credential:${ELECTA.CID}}:sessions`)).to.equal(`electa:token:${sha256(issued[1] as string)}`);
    const forbidden = [...issued, ...issued.map((t) => t.toLowerCase()), ALICE.client_secret, ELECTA.AppKey, MELISSA, 'wrong-secret-alice-0001', 'wrong-licence-melissa-0001'];
    for (const [key, value] of held) {
      for (const text of forbidden) {
        expect(key.toLowerCase(), `a key holds ${text.slice(0, 6)}…`).to.not.include(text.toLowerCase());
        expect(value.toLowerCase(), `the value of ${key} holds ${text.slice(0, 6)}…`).to.not.include(text.toLowerCase());
      }
    }
  });
});
