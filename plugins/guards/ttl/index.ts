import type { GuardPlugin } from '../../../core/guard.js';
import type { ErrorCode } from '../../../core/errors.js';
import { definePlugin } from '../../../core/plugin.js';
import { formatDuration } from '../../../core/duration.js';
import type { Policy } from '../../../core/policy/types.js';
import type { TokenRequest } from '../../../core/ports.js';

/**
 * A requested lifetime clamped into the policy's `[min, max]`; no request means the policy's default.
 *
 * @example clampTtl(policy, 99 * 3_600_000) // policy.ttl.maxMs when max is lower
 */
export function clampTtl(policy: Policy, requestedMs: number | undefined): number {
  const { defaultMs, minMs, maxMs } = policy.ttl;
  if (requestedMs === undefined) return defaultMs;
  return Math.min(maxMs, Math.max(minMs, requestedMs));
}

/**
 * The lifetime of a token issued for `request`. On a route that fixes parameters on the server
 * (`request.preset`: a same-origin helper holding the licence) anyone who reaches the route gets
 * a token, so the lifetime is the policy's default and what the caller asks (`TS`,
 * `expires_in`) is ignored; elsewhere the asked lifetime is clamped.
 *
 * @example lifetimeFor(policy, helperRequest, 99 * 3_600_000) // policy.ttl.defaultMs
 */
export function lifetimeFor(policy: Policy, request: Pick<TokenRequest, 'preset'>, requestedMs: number | undefined): number {
  return clampTtl(policy, request.preset === true ? undefined : requestedMs);
}

/** TTL guard: sets every token's lifetime (`ttl`); refuses nothing. */
export const ttlGuard: GuardPlugin = {
  name: 'ttl',
  order: 500,
  stateless: true,
  keys: {
    ttl: {
    type: 'object',
    additionalProperties: false,
    properties: {
      default: { $ref: '#/definitions/duration', description: 'lifetime when none is asked (default 5m)' },
      min: { $ref: '#/definitions/duration', description: 'shortest lifetime (default 1s)' },
      max: {
        $ref: '#/definitions/duration',
        description: 'longest lifetime (default the larger of default and 24h)',
      },
    },
  },
  },
  codes: [] satisfies ErrorCode[],
  check(policy) {
    const { minMs, defaultMs, maxMs } = policy.ttl;
    const issues: { path: string; message: string }[] = [];
    const [min, dflt, max] = [minMs, defaultMs, maxMs].map(formatDuration);
    if (minMs > maxMs) issues.push({ path: '/ttl/min', message: `expected min ≤ max; got min ${min} and max ${max}` });
    if (defaultMs < minMs || defaultMs > maxMs) {
      issues.push({ path: '/ttl/default', message: `expected min ≤ default ≤ max; got default ${dflt} with min ${min} and max ${max}` });
    }
    return issues;
  },
  create: (policy) => ({
    beforeMint(attempt) {
      attempt.lifetimeMs = lifetimeFor(policy, attempt.request, attempt.asked.ttlMs);
    },
  }),
};

/** Registers the `ttl` guard. */
export default definePlugin({ name: 'ttl', guards: [ttlGuard] });
