import type { Policy } from '../policy/types.js';

/**
 * TTL guard: the lifetime a token gets. A requested lifetime is clamped into the policy's
 * `[min, max]`; no request means the policy's default.
 *
 * @example clampTtl(policy, 99 * 3_600_000) // policy.ttl.maxMs when max is lower
 */
export function clampTtl(policy: Policy, requestedMs: number | undefined): number {
  const { defaultMs, minMs, maxMs } = policy.ttl;
  if (requestedMs === undefined) return defaultMs;
  return Math.min(maxMs, Math.max(minMs, requestedMs));
}
