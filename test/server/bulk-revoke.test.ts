import { expect } from 'chai';
import { Redis } from 'ioredis';
import { T0 } from '../helpers/boot.js';
import { ADMIN_SECRET, adminPost, formPost, host as serveHost, type Host } from '../helpers/host.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const DIR = 'test/fixtures/bulk-revoke';
const POLICIES = [`${DIR}/rooms.yaml`, `${DIR}/api.yaml`, `${DIR}/limited.yaml`, `${DIR}/limited-api.yaml`];
const APPKEY: Record<string, string> = { '42': 'rooms-appkey-42-0123456789', '43': 'rooms-appkey-43-0123456789', '44': 'rooms-appkey-44-0123456789' };
const CLIENT_SECRET: Record<string, string> = { alice: 'api-secret-alice-0123456789', amos: 'api-secret-amos-0123456789', bob: 'api-secret-bob-0123456789' };

/** One host: the real app over a loopback socket, on a store of its own or one it shares. */
type TestHost = Host;

const serveOn = (store: string): Promise<TestHost> => serveHost(POLICIES, {}, [], store);

const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

/** A session GUID for Electa-style account `cid` (policy `rooms`, or `limited-rooms`). */
async function room(host: TestHost, cid: string, policy: 'rooms' | 'limited' = 'rooms'): Promise<string> {
  const secret = policy === 'rooms' ? (APPKEY[cid] as string) : 'limited-appkey-42-0123456789';
  const reply = await (await fetch(`${host.url}/${policy}/token.asp?${q({ CID: cid, AppKey: secret })}`)).text();
  expect(reply, `issue for ${cid}`).to.match(/^0,[0-9A-F-]{36}$/);
  return reply.slice(2);
}
/** Presenting `token` with account `cid`: '0' when valid (the route's JSON), else the Electa response code ('4': unknown, expired or revoked). */
async function session(host: TestHost, cid: string, token: string, policy: 'rooms' | 'limited' = 'rooms'): Promise<string> {
  const reply = await (await fetch(`${host.url}/${policy}/session.asp?${q({ CID: cid, Token: token, Result: 'csv' })}`)).text();
  return reply.startsWith('{"ok":true') ? '0' : (reply.split(',')[0] as string);
}
/** A JWT for client `id` of policy `api`. */
async function jwt(host: TestHost, id: string): Promise<string> {
  const res = await fetch(`${host.url}/api/token`, formPost({ client_id: id, client_secret: CLIENT_SECRET[id] as string }));
  expect(res.status, `issue for ${id}`).to.equal(200);
  return ((await res.json()) as { token: string }).token;
}
/** The status and error code of presenting a JWT on `path`. */
async function present(host: TestHost, token: string, path = '/api/demo'): Promise<{ status: number; error?: string }> {
  const res = await fetch(`${host.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { error?: string };
  return res.status === 200 ? { status: 200 } : { status: res.status, ...(body.error === undefined ? {} : { error: body.error }) };
}
const revoke = async (host: TestHost, params: Record<string, string>) => {
  const res = await fetch(`${host.url}/revoke`, adminPost(params));
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, cacheControl: res.headers.get('cache-control') };
};

/** The same story on one store or across two hosts sharing one. */
function bulkRevocationSuite(hosts: () => [TestHost, TestHost]): void {
  it('by credential_id: every live session of an opaque policy’s account is deleted and counted; other accounts keep theirs', async () => {
    const [a, b] = hosts();
    const mine = [await room(a, '42'), await room(a, '42'), await room(b, '42')];
    const used = await room(a, '42');
    const others = [await room(a, '43'), await room(a, '44')];
    const answer = await revoke(b, { policy: 'rooms', credential_id: '42' });
    expect(answer).to.deep.equal({ status: 200, body: { policy: 'rooms', credential_id: '42', revoked: 4 }, cacheControl: 'no-store' });
    for (const token of [...mine, used]) expect(await session(a, '42', token), 'a revoked session').to.equal('4');
    expect(await session(a, '43', others[0] as string)).to.equal('0');
    expect(await session(a, '44', others[1] as string)).to.equal('0');
    expect(await session(a, '42', await room(a, '42')), 'a session issued after the revocation').to.equal('0');
    expect((await revoke(b, { policy: 'rooms', credential_id: '42' })).body, 'again: only the new session').to.deep.include({ revoked: 1 });
    expect((await revoke(b, { policy: 'rooms', credential_id: 'nobody' })).body, 'an account with no session').to.deep.include({ revoked: 0 });
  });

  it('by credential_id: every self-contained token of a client issued until then is refused with ERR_TOKEN_REVOKED; other clients’ work', async () => {
    const [a, b] = hosts();
    const alice = [await jwt(a, 'alice'), await jwt(b, 'alice')];
    const bob = await jwt(a, 'bob');
    const amos = await jwt(a, 'amos');
    for (const host of new Set([a, b])) host.clock.advance(1_000);
    const answer = await revoke(b, { policy: 'api', credential_id: 'alice' });
    expect(answer).to.deep.equal({ status: 200, body: { policy: 'api', credential_id: 'alice', not_before: new Date(T0 + 1_000).toISOString() }, cacheControl: 'no-store' });
    for (const token of alice) expect(await present(a, token)).to.deep.equal({ status: 401, error: 'ERR_TOKEN_REVOKED' });
    expect(await present(a, bob)).to.deep.equal({ status: 200 });
    expect(await present(b, amos), 'another client of the same subject').to.deep.equal({ status: 200 });
    for (const host of new Set([a, b])) host.clock.advance(1_000);
    expect(await present(a, await jwt(a, 'alice')), 'a token issued after the revocation').to.deep.equal({ status: 200 });
  });

  it('by sub: every token of every credential of that subject, opaque and self-contained; another subject’s work', async () => {
    const [a, b] = hosts();
    const rooms = [[await room(a, '42'), '42'], [await room(a, '43'), '43']] as const;
    const kimRoom = await room(a, '44');
    const jwts = [await jwt(a, 'alice'), await jwt(a, 'amos')];
    const kim = await jwt(a, 'bob');
    for (const host of new Set([a, b])) host.clock.advance(1_000);
    expect((await revoke(b, { policy: 'rooms', sub: 'pat' })).body).to.deep.equal({ policy: 'rooms', sub: 'pat', revoked: 2 });
    expect((await revoke(b, { policy: 'api', sub: 'pat' })).body).to.deep.include({ policy: 'api', sub: 'pat' });
    for (const [token, cid] of rooms) expect(await session(a, cid, token)).to.equal('4');
    for (const token of jwts) expect(await present(a, token)).to.deep.equal({ status: 401, error: 'ERR_TOKEN_REVOKED' });
    expect(await session(a, '44', kimRoom)).to.equal('0');
    expect(await present(a, kim)).to.deep.equal({ status: 200 });
  });

  it('introspection says a revoked token is inactive, on either host', async () => {
    const [a, b] = hosts();
    const token = await jwt(a, 'bob');
    for (const host of new Set([a, b])) host.clock.advance(1_000);
    await revoke(a, { policy: 'api', credential_id: 'bob' });
    const res = await fetch(`${b.url}/introspect`, adminPost({ token }));
    expect(await res.json()).to.deep.equal({ active: false });
  });

  it('maxUses: of many concurrent presentations of one token, on both hosts, exactly N pass (opaque and self-contained)', async () => {
    const [a, b] = hosts();
    const guid = await room(a, '42', 'limited');
    const codes = await Promise.all(Array.from({ length: 12 }, (_, i) => session(i % 2 ? a : b, '42', guid, 'limited')));
    expect(codes.filter((c) => c === '0')).to.have.length(3);
    expect(codes.filter((c) => c === '4')).to.have.length(9);
    const res = await fetch(`${a.url}/limited-api/token`, { method: 'POST' });
    const { token } = (await res.json()) as { token: string };
    const seen = await Promise.all(Array.from({ length: 12 }, (_, i) => present(i % 2 ? a : b, token, '/limited-api/demo')));
    expect(seen.filter((s) => s.status === 200)).to.have.length(3);
    expect(seen.filter((s) => s.status !== 200)).to.deep.equal(Array.from({ length: 9 }, () => ({ status: 401, error: 'ERR_TOKEN_REUSED' })));
  });
}

describe('bulk revocation and use counts over HTTP', function () {
  this.timeout(30_000);

  describe('on the memory store (one host)', () => {
    let host: TestHost;
    beforeEach(async () => {
      host = await serveOn('memory');
    });
    afterEach(async () => {
      await host.close();
    });
    bulkRevocationSuite(() => [host, host]);

    it('keeps RFC 7009 revocation of one token as it was (200, empty body)', async () => {
      const token = await jwt(host, 'bob');
      const res = await fetch(`${host.url}/revoke`, adminPost({ token }));
      expect([res.status, await res.text()]).to.deep.equal([200, '']);
      expect(await present(host, token)).to.deep.equal({ status: 401, error: 'ERR_TOKEN_REVOKED' });
    });

    it('refuses a bulk revocation it cannot read with 400 ERR_REQUEST_INVALID, an unknown policy with 404, and no admin secret with 401', async () => {
      const refused = async (init: RequestInit) => {
        const res = await fetch(`${host.url}/revoke`, init);
        return [res.status, ((await res.json()) as { error: string }).error];
      };
      const json = (body: unknown) => ({ method: 'POST', headers: { authorization: `Bearer ${ADMIN_SECRET}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(await refused(adminPost({ credential_id: '42' })), 'no policy').to.deep.equal([400, 'ERR_REQUEST_INVALID']);
      expect(await refused(adminPost({ policy: 'rooms', credential_id: '42', sub: 'pat' })), 'both').to.deep.equal([400, 'ERR_REQUEST_INVALID']);
      expect(await refused(adminPost({ policy: 'rooms', credential_id: '42', token: 'x' })), 'with a token').to.deep.equal([400, 'ERR_REQUEST_INVALID']);
      expect(await refused(adminPost({ policy: 'rooms', credential_id: '' })), 'empty').to.deep.equal([400, 'ERR_REQUEST_INVALID']);
      expect(await refused(json({ policy: 'rooms', credential_id: 42 })), 'a number').to.deep.equal([400, 'ERR_REQUEST_INVALID']);
      expect(await refused(json({ policy: 'rooms', sub: ['pat'] })), 'a list').to.deep.equal([400, 'ERR_REQUEST_INVALID']);
      expect(await refused(adminPost({ policy: 'roms', credential_id: '42' })), 'unknown policy').to.deep.equal([404, 'ERR_POLICY_UNKNOWN']);
      expect(await refused(formPost({ policy: 'rooms', credential_id: '42' })), 'no admin secret').to.deep.equal([401, 'ERR_ADMIN_UNAUTHORIZED']);
      const guid = await room(host, '42');
      expect(await session(host, '42', guid), 'nothing was revoked by a refused call').to.equal('0');
    });

    it('does not count introspection as a use', async () => {
      const guid = await room(host, '42', 'limited');
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${host.url}/introspect`, adminPost({ token: guid, policy: 'limited-rooms' }));
        expect(((await res.json()) as { active: boolean }).active).to.equal(true);
        expect(await session(host, '42', guid, 'limited')).to.equal('0');
      }
      expect(await session(host, '42', guid, 'limited')).to.equal('4');
    });
  });

  describe('on two hosts sharing a real Redis', () => {
    let redis: RedisServer;
    let a: TestHost;
    let b: TestHost;
    before(async () => {
      redis = await startRedis();
    });
    beforeEach(async () => {
      [a, b] = [await serveOn(redis.url), await serveOn(redis.url)];
    });
    afterEach(async () => {
      await Promise.all([a.close(), b.close()]);
      const client = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 5 });
      await client.flushall();
      client.disconnect();
    });
    after(async () => {
      await redis.dispose();
    });
    bulkRevocationSuite(() => [a, b]);
  });
});
