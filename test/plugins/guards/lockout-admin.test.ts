import { expect } from 'chai';
import { ManualClock } from '../../../core/clock.js';
import { sha256Bytes } from '../../../core/digest.js';
import type { Policy } from '../../../core/policy/types.js';
import type { Store } from '../../../core/ports.js';
import { LockoutAdmin, LockoutGuard } from '../../../plugins/guards/lockout/index.js';
import { MemoryStore } from '../../../plugins/stores/memory/memory-store.js';
import { rejection } from '../../helpers/boot.js';

const T0 = Date.parse('2026-11-22T12:00:00Z');
const LICENCE = 'the-right-licence-0123456789';
const policy = {
  id: 'p',
  lockout: { threshold: 2, windowMs: 60_000, durationMs: 60_000, per: ['credential', 'address'] },
  credentials: [{ id: 'alice', secret: 'alice-secret' }, { secret: LICENCE }],
  rules: { lockout: {} },
} as unknown as Policy;

/** The store's required methods only: a store plugin without the `ExpiringIndex` ability. */
function plainStore(inner: MemoryStore): Store {
  const names = ['put', 'putIfAbsent', 'get', 'delete', 'consume', 'increment', 'deny', 'isDenied', 'ttl', 'close'] as const;
  return Object.fromEntries(names.map((name) => [name, (...args: unknown[]) => (inner[name] as (...a: unknown[]) => unknown)(...args)])) as unknown as Store;
}

describe('plugins/guards/lockout LockoutAdmin', () => {
  let clock: ManualClock;
  let store: MemoryStore;
  const lockUp = async (s: Store, subject: { credentialId?: string; secretDigest?: Buffer; address: string }) => {
    const guard = new LockoutGuard(s, clock);
    const keys = guard.keys(policy, subject);
    for (let i = 0; i < 2; i++) await guard.fail(policy, keys, { subject });
    return keys;
  };
  beforeEach(() => {
    clock = new ManualClock(T0);
    store = new MemoryStore(clock);
  });

  it('lists each lock once with what the operator needs, and a secret only as its fingerprint', async () => {
    const wrong = 'a-wrong-licence-0123456789';
    const digest = sha256Bytes(wrong);
    await lockUp(store, { secretDigest: digest, address: '2001:db8:1:2::7' });
    clock.advance(5_000);
    const locks = await new LockoutAdmin(store, clock).list(policy);
    expect(locks).to.deep.equal([
      { kind: 'secret', fingerprint: locks[0]?.fingerprint, failures: 2, since: new Date(T0).toISOString(), until: new Date(T0 + 60_000).toISOString(), permanent: false, lock_number: 1 },
      { kind: 'address', address: '2001:db8:1:2::/64', failures: 2, since: new Date(T0).toISOString(), until: new Date(T0 + 60_000).toISOString(), permanent: false, lock_number: 1 },
    ]);
    const text = JSON.stringify(locks);
    for (const raw of [wrong, digest.toString('base64url', 0, 16), digest.toString('hex').slice(0, 12)]) expect(text).to.not.include(raw);
    // The same lock of another policy's secrets gets another fingerprint: it cannot be tested without them.
    const other = { ...policy, credentials: [{ secret: 'another-licence' }] } as unknown as Policy;
    const [secretKey] = new LockoutGuard(store, clock).keys(policy, { secretDigest: digest, address: '10.0.0.1' });
    const { fingerprintOf } = await import('../../../plugins/guards/lockout/keys.js');
    expect(fingerprintOf(other, secretKey as string)).to.not.equal(locks[0]?.fingerprint);
    expect((await new LockoutAdmin(store, clock).unlock(policy, { address: '2001:db8:1:2::/64' })).kind).to.equal('address');
    expect((await new LockoutAdmin(store, clock).list(policy)).map((l) => l.kind)).to.deep.equal(['secret']);
  });

  it('never lists a secret of the policy that a caller typed as a credential id', async () => {
    await lockUp(store, { credentialId: 'alice-secret', address: '10.0.0.1' });
    const locks = await new LockoutAdmin(store, clock).list(policy);
    expect(locks.find((l) => l.kind === 'credential')?.credential_id).to.equal('(not shown: a secret of this policy)');
    expect(JSON.stringify(locks)).to.not.include('alice-secret');
  });

  it('skips a listed lock whose counter is gone, and a counted key below the threshold is not a lock', async () => {
    const [credentialKey] = await lockUp(store, { credentialId: 'alice', address: '10.0.0.1' });
    await store.delete(credentialKey as string);
    expect((await new LockoutAdmin(store, clock).list(policy)).map((l) => l.kind)).to.deep.equal(['address']);
    const guard = new LockoutGuard(store, clock);
    await guard.fail(policy, guard.keys(policy, { credentialId: 'bob', address: '10.0.0.2' }));
    expect((await rejection(() => new LockoutAdmin(store, clock).unlock(policy, { credentialId: 'bob' }))).code).to.equal('ERR_LOCK_NOT_FOUND');
    expect(await store.get(guard.keys(policy, { credentialId: 'bob', address: '10.0.0.2' })[0] as string), 'unchanged').to.equal('1');
  });

  it('on a store without an index: locks still hold and lift by id or address; listing is refused with a stable code', async () => {
    const plain = plainStore(store);
    await lockUp(plain, { credentialId: 'alice', address: '10.0.0.1' });
    const admin = new LockoutAdmin(plain, clock);
    const refused = await rejection(() => admin.list(policy));
    expect([refused.code, (refused as { reason?: string }).reason]).to.deep.equal(['ERR_REQUEST_INVALID', 'store-cannot-list']);
    expect(await admin.unlock(policy, { credentialId: 'alice' })).to.deep.include({ kind: 'credential', credential_id: 'alice', failures: 2 });
    expect(await admin.unlock(policy, { address: '10.0.0.1' })).to.deep.include({ kind: 'address', address: '10.0.0.1' });
    expect(store.usage.counters).to.equal(0);
  });

  it('reports a store failure as ERR_STORE_UNAVAILABLE', async () => {
    await store.close();
    const failing = { ...plainStore(store), get: () => Promise.reject(new Error('ECONNRESET')) } as unknown as Store;
    expect((await rejection(() => new LockoutAdmin(failing, clock).unlock(policy, { credentialId: 'alice' }))).code).to.equal('ERR_STORE_UNAVAILABLE');
  });
});
