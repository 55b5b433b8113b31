import type { GuardPlugin } from '../../../core/guard.js';
import type { ErrorCode } from '../../../core/errors.js';
import { definePlugin } from '../../../core/plugin.js';
import { TokenReusedError } from '../../../core/errors.js';

/**
 * Single-use guard (`reuse: false`): a token verifies once. Runs last, so that a token is used
 * up only by a request that every other rule let through; the token keeper marks the use in one
 * atomic step, so of concurrent requests with one token exactly one passes.
 */
export const singleUseGuard: GuardPlugin = {
  name: 'single-use',
  order: 900,
  keys: {
    reuse: { type: 'boolean', description: 'false = single use (default true)' },
  },
  codes: ['ERR_TOKEN_REUSED'] satisfies ErrorCode[],
  create: (policy) =>
    policy.reuse
      ? undefined
      : {
          async onVerify(attempt) {
            if (attempt.presented && !(await attempt.useOnce())) {
              throw new TokenReusedError('the token was already used', { policyId: policy.id });
            }
          },
        },
};

/** Registers the `single-use` guard. */
export default definePlugin({ name: 'single-use', guards: [singleUseGuard] });
