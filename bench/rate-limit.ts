import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_POLICIES } from './env.js';

/**
 * The example Melissa policy with a rate limit on its issue routes, per address and per
 * credential, set far above what the bench sends: every request pays the two counts and none is
 * refused, so the pair with the plain policy measures what the limiter costs.
 */
const LIMIT = 'rateLimit: { issue: { perAddress: { requests: 1000000000, window: 1h }, perCredential: { requests: 1000000000, window: 1h } } }';

/** Every example policy, the Melissa one rate-limited (written to a temporary directory). */
export function rateLimitedPolicies(): string[] {
  const file = join(mkdtempSync(join(tmpdir(), 'tokensmith-bench-')), 'melissa.yaml');
  writeFileSync(file, `${readFileSync('policies/melissa.yaml', 'utf8')}\n${LIMIT}\n`);
  return ALL_POLICIES.map((policy) => (policy === 'policies/melissa.yaml' ? file : policy));
}
