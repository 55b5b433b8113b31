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
      expect(guard.keys(policy(['address']), { credentialId: 'alice', address: '::1' })).to.deep.equal(['p:lockout:a:::1']);
      expect(guard.keys({ id: 'q' } as Policy, { credentialId: 'alice', address: '::1' })).to.deep.equal([]);
    });
  });
});
