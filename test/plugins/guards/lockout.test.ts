import { expect } from 'chai';
import { sha256Bytes } from '../../../core/digest.js';
import { LockoutGuard } from '../../../plugins/guards/lockout/index.js';
import type { Policy } from '../../../core/policy/types.js';
import { MemoryStore } from '../../../plugins/stores/memory/memory-store.js';
import { ManualClock } from '../../../core/clock.js';

const policy = (per: ('credential' | 'address')[]) =>
  ({ id: 'p', lockout: { threshold: 5, windowMs: 60_000, durationMs: 60_000, per } }) as unknown as Policy;

describe('plugins/guards/lockout LockoutGuard', () => {
  const guard = new LockoutGuard(new MemoryStore(new ManualClock(0)));

  describe('.keys', () => {
    const PLAIN = /^[\x21-\x7e]{1,100}$/;
    it('gives one key per subject the policy counts, the same for the same subject, different for another', () => {
      const both = policy(['credential', 'address']);
      const alice = guard.keys(both, { credentialId: '123456', address: '10.0.0.1' });
      expect(alice).to.have.length(2);
      expect(guard.keys(both, { credentialId: '123456', address: '10.0.0.1' })).to.deep.equal(alice);
      const [credential, address] = alice;
      const [otherCredential, otherAddress] = guard.keys(both, { credentialId: '654321', address: '10.0.0.2' });
      expect([otherCredential, otherAddress]).to.not.include.members([credential, address]);
      expect(guard.keys({ ...both, id: 'q' } as Policy, { credentialId: '123456', address: '10.0.0.1' })).to.not.include.members(alice);
    });

    it('keeps a key bounded and plain whatever the credential id, and tells ids apart', () => {
      const [long] = guard.keys(policy(['credential']), { credentialId: 'x'.repeat(5000), address: '10.0.0.1' });
      const [odd] = guard.keys(policy(['credential']), { credentialId: 'a b\n\u00e9', address: '10.0.0.1' });
      expect(long).to.match(PLAIN);
      expect(odd).to.match(PLAIN);
      expect(long).not.to.equal(odd);
    });

    it('never puts a secret in a key: secret-only styles are counted by the secret’s digest', () => {
      const secret = 'melissa-licence-0123456789';
      const [key] = guard.keys(policy(['credential']), { secretDigest: sha256Bytes(secret), address: '10.0.0.1' });
      const [other] = guard.keys(policy(['credential']), { secretDigest: sha256Bytes(`${secret}x`), address: '10.0.0.1' });
      expect(key).to.match(PLAIN);
      expect(key).not.to.include(secret);
      expect(key).not.to.equal(other);
    });

    it('counts per address alone when there is no credential, and nothing without a lockout', () => {
      expect(guard.keys(policy(['credential']), { address: '10.0.0.1' })).to.deep.equal([]);
      const [byAddress] = guard.keys(policy(['address']), { credentialId: 'alice', address: '10.0.0.1' });
      expect(guard.keys(policy(['address']), { credentialId: 'bob', address: '10.0.0.1' })).to.deep.equal([byAddress]);
      expect(guard.keys({ id: 'q' } as Policy, { credentialId: 'alice', address: '::1' })).to.deep.equal([]);
    });
  });

  describe('.keys for IPv6 addresses', () => {
    it('counts an IPv6 address as its /64, whatever its spelling, so rotating within a /64 does not start afresh', () => {
      const key = (address: string) => guard.keys(policy(['address']), { address })[0];
      expect(key('2001:DB8:1:2:ffff::1')).to.equal(key('2001:db8:1:2:a:b:c:d'));
      expect(key('2001:db8:0:0:1::')).to.equal(key('2001:db8::1'));
      expect(key('::1')).to.equal(key('0:0:0:0:ffff::2'));
      expect(key('2001:db8:1:3::1')).to.not.equal(key('2001:db8:1:2::1'));
      expect(key('2001:db8::1')).to.not.equal(key('2001:db8:1:2::1'));
      expect(key('::ffff:203.0.113.7')).to.equal(key('203.0.113.7'));
      expect(key('203.0.113.8')).to.not.equal(key('203.0.113.7'));
    });
  });

  describe('.succeed', () => {
    const store = () => new MemoryStore(new ManualClock(0));
    const failTwice = async (guard: LockoutGuard, keys: string[]) => {
      for (let i = 0; i < 2; i++) await guard.fail(policy(['credential', 'address']), keys);
    };

    it('resets the credential the caller proved and keeps the address’s count', async () => {
      const s = store();
      const g = new LockoutGuard(s);
      const keys = g.keys(policy(['credential', 'address']), { credentialId: 'alice', address: '10.0.0.1' });
      await failTwice(g, keys);
      const counted = await g.assertOpen(policy(['credential', 'address']), keys);
      await g.succeed(policy(['credential', 'address']), counted, {});
      const [credentialKey, addressKey] = keys as [string, string];
      expect(await s.get(credentialKey)).to.equal(undefined);
      expect(await s.get(addressKey)).to.equal('2');
    });

    it('resets nothing for a request on a preset route', async () => {
      const s = store();
      const g = new LockoutGuard(s);
      const keys = g.keys(policy(['credential', 'address']), { credentialId: 'alice', address: '10.0.0.1' });
      await failTwice(g, keys);
      await g.succeed(policy(['credential', 'address']), await g.assertOpen(policy(['credential', 'address']), keys), { preset: true });
      expect(await Promise.all(keys.map((key) => s.get(key)))).to.deep.equal(['2', '2']);
    });
  });

  describe('.assertOpen at the store’s counter bound', () => {
    it('refuses with ERR_STORE_FULL, before any secret is compared, an attempt that would need a new counter', async () => {
      const s = new MemoryStore(new ManualClock(0), { maxCounters: 1 });
      const g = new LockoutGuard(s);
      const p = policy(['address']);
      await g.fail(p, ['p:lockout:a:10.0.0.1']);
      expect(await g.assertOpen(p, ['p:lockout:a:10.0.0.1'])).to.deep.equal(['p:lockout:a:10.0.0.1']);
      let code: string | undefined;
      try {
        await g.assertOpen(p, ['p:lockout:a:10.0.0.2']);
      } catch (err) {
        code = (err as { code?: string }).code;
      }
      expect(code).to.equal('ERR_STORE_FULL');
    });
  });
});
