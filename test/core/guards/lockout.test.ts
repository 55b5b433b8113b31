import { expect } from 'chai';
import { sha256Bytes } from '../../../core/digest.js';
import { LockoutGuard } from '../../../core/guards/lockout.js';
import type { Policy } from '../../../core/policy/types.js';
import { MemoryStore } from '../../../plugins/stores/memory/memory-store.js';
import { ManualClock } from '../../../core/clock.js';

const policy = (per: ('credential' | 'address')[]) =>
  ({ id: 'p', lockout: { threshold: 5, windowMs: 60_000, durationMs: 60_000, per } }) as unknown as Policy;

describe('core/guards/lockout LockoutGuard', () => {
  const guard = new LockoutGuard(new MemoryStore(new ManualClock(0)));

  describe('.keys', () => {
    it('keeps a short, plain credential id as it is', () => {
      expect(guard.keys(policy(['credential', 'address']), { credentialId: '123456', address: '10.0.0.1' })).to.deep.equal([
        'p:lockout:c:i:123456',
        'p:lockout:a:10.0.0.1',
      ]);
    });

    it('hashes a long or odd credential id, so a key stays bounded and plain', () => {
      const [long] = guard.keys(policy(['credential']), { credentialId: 'x'.repeat(65), address: '10.0.0.1' });
      const [odd] = guard.keys(policy(['credential']), { credentialId: 'a b\n', address: '10.0.0.1' });
      expect(long).to.match(/^p:lockout:c:h:[A-Za-z0-9_-]{22}$/);
      expect(odd).to.match(/^p:lockout:c:h:[A-Za-z0-9_-]{22}$/);
      expect(long).not.to.equal(odd);
    });

    it('never puts a secret in a key: secret-only styles are counted by the secret’s digest', () => {
      const secret = 'melissa-licence-0123456789';
      const [key] = guard.keys(policy(['credential']), { secretDigest: sha256Bytes(secret), address: '10.0.0.1' });
      expect(key).to.equal(`p:lockout:c:s:${sha256Bytes(secret).toString('base64url', 0, 16)}`);
      expect(key).not.to.include(secret);
    });

    it('counts per address alone when there is no credential, and nothing without a lockout', () => {
      expect(guard.keys(policy(['credential']), { address: '10.0.0.1' })).to.deep.equal([]);
      expect(guard.keys(policy(['address']), { credentialId: 'alice', address: '10.0.0.1' })).to.deep.equal(['p:lockout:a:10.0.0.1']);
      expect(guard.keys({ id: 'q' } as Policy, { credentialId: 'alice', address: '::1' })).to.deep.equal([]);
    });
  });

  describe('.keys for IPv6 addresses', () => {
    it('counts an IPv6 address as its /64, whatever its spelling, so rotating within a /64 does not start afresh', () => {
      const key = (address: string) => guard.keys(policy(['address']), { address })[0];
      expect(key('2001:db8:1:2:a:b:c:d')).to.equal('p:lockout:a:2001:db8:1:2::/64');
      expect(key('2001:DB8:1:2:ffff::1')).to.equal('p:lockout:a:2001:db8:1:2::/64');
      expect(key('2001:db8::1')).to.equal('p:lockout:a:2001:db8:0:0::/64');
      expect(key('2001:db8:0:0:1::')).to.equal('p:lockout:a:2001:db8:0:0::/64');
      expect(key('::1')).to.equal('p:lockout:a:0:0:0:0::/64');
      expect(key('2001:db8:1:3::1')).to.equal('p:lockout:a:2001:db8:1:3::/64');
      expect(key('::ffff:203.0.113.7')).to.equal('p:lockout:a:203.0.113.7');
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
      expect(await s.get('p:lockout:c:i:alice')).to.equal(undefined);
      expect(await s.get('p:lockout:a:10.0.0.1')).to.equal('2');
    });

    it('resets nothing for a request on a preset route', async () => {
      const s = store();
      const g = new LockoutGuard(s);
      const keys = g.keys(policy(['credential', 'address']), { credentialId: 'alice', address: '10.0.0.1' });
      await failTwice(g, keys);
      await g.succeed(policy(['credential', 'address']), await g.assertOpen(policy(['credential', 'address']), keys), { preset: true });
      expect([await s.get('p:lockout:c:i:alice'), await s.get('p:lockout:a:10.0.0.1')]).to.deep.equal(['2', '2']);
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
