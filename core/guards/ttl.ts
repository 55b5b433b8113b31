import type { Policy } from '../policy/types.js';
import type { TokenRequest } from '../ports.js';

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
