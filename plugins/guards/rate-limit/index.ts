import type { Guard, GuardPlugin, JsonSchema } from '../../../core/guard.js';
import type { ErrorCode } from '../../../core/errors.js';
import { definePlugin } from '../../../core/plugin.js';
import { addressBucket } from '../../../core/address.js';
import { sha256 } from '../../../core/digest.js';
import { formatDuration, parseDuration } from '../../../core/duration.js';
import { RateLimitedError } from '../../../core/errors.js';
import type { Policy } from '../../../core/policy/types.js';
import type { Clock, Store } from '../../../core/ports.js';

/** One limit as written: at most `requests` in each `window`. */
interface LimitText {
  readonly requests: number;
  readonly window: string;
}

/** The limits of one route kind (`issue` or `verify`), as written. */
interface RouteLimits {
  readonly perAddress?: LimitText;
  readonly perCredential?: LimitText;
}

/** The `rateLimit` key as written. */
export interface RateLimitRule {
  readonly issue?: RouteLimits;
  readonly verify?: RouteLimits;
}

const ROUTES = ['issue', 'verify'] as const;
type Route = (typeof ROUTES)[number];
type Per = 'address' | 'credential';

/** The shortest window: `Retry-After` counts whole seconds. */
const MIN_WINDOW_MS = 1000;

const limitSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['requests', 'window'],
  properties: {
    requests: { type: 'integer', minimum: 1, maximum: 1_000_000_000, description: 'requests allowed in each window' },
    window: { $ref: '#/definitions/duration', description: 'the window, from the first request it counts (at least 1s)' },
  },
};

const routeSchema = (what: string): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  description: `limits on ${what}`,
  properties: {
    perAddress: { ...limitSchema, description: 'per client address (an IPv6 address counts as its /64)' },
    perCredential: { ...limitSchema, description: 'per credential, counted once the credential is proved (issue: its secret; verify: a token of it)' },
  },
});

/** Ids that can stand in a store key as they are; anything else is hashed (bounded length, no odd bytes). */
const PLAIN_ID = /^[A-Za-z0-9._@-]{1,64}$/;

/** A credential as a store key part: its id (hashed unless short and plain), else the digest of its secret. */
function credentialPart(id: string | undefined, secretDigest: Buffer | undefined): string | undefined {
  if (id !== undefined) return PLAIN_ID.test(id) ? `i:${id}` : `h:${sha256(id).slice(0, 22)}`;
  return secretDigest === undefined ? undefined : `s:${secretDigest.toString('base64url', 0, 16)}`;
}

/**
 * One limit of one policy: a count per subject (an address bucket or a credential) in a fixed
 * window, through the store's atomic `increment`, so that hosts sharing a store share the count.
 * Every request is counted, refused ones included: a caller that keeps knocking stays refused
 * until the window it started ends.
 */
class Limit {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #policyId: string;
  readonly #prefix: string;
  readonly #per: Per;
  readonly #requests: number;
  readonly #windowMs: number;

  constructor(policy: Policy, route: Route, per: Per, limit: LimitText, deps: { store: Store; clock: Clock }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#policyId = policy.id;
    this.#prefix = `${policy.id}:rate:${route}:${per === 'address' ? 'a' : 'c'}:`;
    this.#per = per;
    this.#requests = limit.requests;
    this.#windowMs = parseDuration(limit.window) as number;
  }

  /** Counts one request of `subject`; throws `RateLimitedError` when it is past the limit. */
  async count(subject: string): Promise<void> {
    const { count, resetAt } = await this.#store.increment(this.#prefix + subject, this.#windowMs);
    if (count <= this.#requests) return;
    const retryAfterMs = Math.max(1, resetAt - this.#clock.now());
    throw new RateLimitedError(
      `too many requests from this ${this.#per} (at most ${this.#requests} per ${formatDuration(this.#windowMs)}); try again in ${Math.ceil(retryAfterMs / 1000)}s`,
      retryAfterMs,
      { policyId: this.#policyId, reason: this.#per },
    );
  }
}

/** The guard for a policy's `rateLimit`, with only the hooks its limits need. */
function limiterFor(policy: Policy, rule: RateLimitRule, deps: { store: Store; clock: Clock }): Guard {
  const limit = (route: Route, per: Per): Limit | undefined => {
    const written = rule[route]?.[per === 'address' ? 'perAddress' : 'perCredential'];
    return written === undefined ? undefined : new Limit(policy, route, per, written, deps);
  };
  const issueByAddress = limit('issue', 'address');
  const issueByCredential = limit('issue', 'credential');
  const verifyByAddress = limit('verify', 'address');
  const verifyByCredential = limit('verify', 'credential');
  const guard: Guard = {};
  if (issueByAddress !== undefined) {
    guard.onRequest = (request) => issueByAddress.count(addressBucket(request.clientAddress));
  }
  if (issueByCredential !== undefined) {
    // Counted once the secret matched: a caller who only knows a credential's id cannot use up its quota.
    guard.afterCredentials = async ({ credential, secretDigest }) => {
      const part = credential === undefined ? undefined : credentialPart(credential.id, secretDigest);
      if (part !== undefined) await issueByCredential.count(part);
    };
  }
  if (verifyByAddress !== undefined) {
    guard.beforeVerify = (request) => verifyByAddress.count(addressBucket(request.clientAddress));
  }
  if (verifyByCredential !== undefined) {
    guard.onVerify = async ({ presented, record }) => {
      const part = presented ? credentialPart(record.credentialId, undefined) : undefined;
      if (part !== undefined) await verifyByCredential.count(part);
    };
  }
  return guard;
}

/**
 * Rate-limit guard (`rateLimit`): at most N requests per window on a policy's issue and verify
 * routes, per client address and per credential, counted in the store (shared across hosts);
 * a request past the limit is refused with `ERR_RATE_LIMITED` (429, `Retry-After`). The
 * per-address limit of verify routes is checked before the token is looked at. A policy
 * without `rateLimit` gets no guard and pays nothing.
 */
export const rateLimitGuard: GuardPlugin = {
  name: 'rate-limit',
  order: 50,
  keys: {
    rateLimit: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      description: 'at most N requests per window, per client address and per credential, on issue and verify routes',
      properties: { issue: routeSchema('issue routes'), verify: routeSchema('verify (protected) routes') },
    },
  },
  codes: ['ERR_RATE_LIMITED'] satisfies ErrorCode[],
  check(policy) {
    const rule = policy.rules['rateLimit'] as RateLimitRule | undefined;
    if (rule === undefined) return [];
    const issues: { path: string; message: string }[] = [];
    for (const route of ROUTES) {
      for (const per of ['perAddress', 'perCredential'] as const) {
        const written = rule[route]?.[per];
        if (written === undefined) continue;
        const path = `/rateLimit/${route}/${per}`;
        const windowMs = parseDuration(written.window);
        if (windowMs !== undefined && windowMs < MIN_WINDOW_MS) {
          issues.push({ path: `${path}/window`, message: `expected a window of at least 1s (Retry-After counts whole seconds); got ${written.window}` });
        }
        if (per !== 'perCredential') continue;
        if (policy.credentials === undefined) {
          issues.push({ path, message: `a limit per credential needs a credentials list` });
        } else if (route === 'verify' && policy.credentials.some((credential) => credential.id === undefined)) {
          issues.push({ path, message: 'a limit per credential on verify routes needs credentials with an id (tokens of a secret-only credential name none)' });
        }
      }
    }
    return issues;
  },
  create(policy, { store, clock }) {
    const rule = policy.rules['rateLimit'] as RateLimitRule | undefined;
    return rule === undefined ? undefined : limiterFor(policy, rule, { store, clock });
  },
};

/** Registers the `rate-limit` guard. */
export default definePlugin({ name: 'rate-limit', guards: [rateLimitGuard] });
