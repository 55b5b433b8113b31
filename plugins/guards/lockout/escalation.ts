import { parseDuration } from '../../../core/duration.js';
import type { Policy } from '../../../core/policy/types.js';

const DAY = 86_400_000;
/** The longest a temporary lock may last (`duration`, `escalation.max`). */
const LONGEST_MS = 365 * DAY;
/**
 * How long a permanent lock is kept: the store gives every key a lifetime, so "until an operator
 * lifts it" is a century. A lock with more than {@link LONGEST_MS} left is permanent.
 */
export const PERMANENT_MS = 100 * 365 * DAY;

/** `lockout.escalation`, read from the policy with its defaults. */
export interface Escalation {
  /** Each further lock of the same key lasts this many times the one before. */
  readonly factor: number;
  /** No temporary lock lasts longer. */
  readonly maxMs: number;
  /** After this many temporary locks, the next lock of a listed credential id is permanent. */
  readonly permanentAfter: number | undefined;
  /** How long after its last lock ends a key's locks are remembered. */
  readonly resetAfterMs: number;
}

const duration = { $ref: '#/definitions/duration' };

/** The JSON Schema of `lockout.escalation`. */
export const escalationSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    factor: { type: 'number', minimum: 1, maximum: 100, description: 'each further lock of the same key lasts this many times the one before (default 1)' },
    max: { ...duration, description: 'no temporary lock lasts longer (default 24h, at least duration, at most 365d)' },
    permanentAfter: { type: 'integer', minimum: 0, maximum: 100, description: 'after this many temporary locks, the next lock of a listed credential id lasts until an operator lifts it' },
    resetAfter: { ...duration, description: "how long after its last lock ends a key's locks are forgotten (default 24h)" },
  },
} as const;

const cache = new WeakMap<Policy, Escalation | undefined>();

/** The policy's escalation settings, or `undefined` when every lock lasts `duration`. */
export function escalationOf(policy: Policy): Escalation | undefined {
  if (cache.has(policy)) return cache.get(policy);
  const raw = (policy.rules['lockout'] as { escalation?: Record<string, unknown> } | undefined)?.escalation;
  const base = policy.lockout?.durationMs ?? 0;
  const ms = (value: unknown): number | undefined => (typeof value === 'string' ? parseDuration(value) : undefined);
  const escalation =
    raw === undefined
      ? undefined
      : {
          factor: typeof raw['factor'] === 'number' ? raw['factor'] : 1,
          maxMs: ms(raw['max']) ?? Math.max(base, DAY),
          permanentAfter: typeof raw['permanentAfter'] === 'number' ? raw['permanentAfter'] : undefined,
          resetAfterMs: ms(raw['resetAfter']) ?? DAY,
        };
  cache.set(policy, escalation);
  return escalation;
}

/**
 * How long the `number`th lock of a key lasts (the first is `number` 1): `duration` times
 * `factor` to the power of the earlier locks, at most `max`; {@link PERMANENT_MS} once more
 * than `permanentAfter` locks were temporary, for a credential id the policy lists
 * (`knownId`). An address, a secret digest or an id nobody holds never locks for good: a
 * caller can make as many of those as it likes, and each permanent lock would be kept for ever.
 */
export function lockLength(policy: Policy, number: number, knownId: boolean): number {
  const base = policy.lockout?.durationMs ?? 0;
  const escalation = escalationOf(policy);
  if (escalation === undefined) return base;
  if (knownId && escalation.permanentAfter !== undefined && number > escalation.permanentAfter) return PERMANENT_MS;
  return Math.min(escalation.maxMs, base * escalation.factor ** (number - 1));
}

/** Whether a lock with `remainingMs` left is a permanent one. */
export function isPermanent(remainingMs: number): boolean {
  return remainingMs > LONGEST_MS;
}

/** The checks on `duration` and `escalation` that the schema cannot express; paths from the policy's root. */
export function checkLengths(policy: Policy): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const base = policy.lockout?.durationMs;
  if (base === undefined) return issues;
  if (base > LONGEST_MS) issues.push({ path: '/lockout/duration', message: 'a lock lasts at most 365d (use escalation.permanentAfter for locks an operator lifts)' });
  const escalation = escalationOf(policy);
  if (escalation === undefined) return issues;
  if (escalation.maxMs > LONGEST_MS) issues.push({ path: '/lockout/escalation/max', message: 'a lock lasts at most 365d' });
  if (escalation.maxMs < base) issues.push({ path: '/lockout/escalation/max', message: 'max must be at least duration' });
  if (escalation.resetAfterMs > LONGEST_MS) issues.push({ path: '/lockout/escalation/resetAfter', message: 'locks are remembered at most 365d' });
  return issues;
}
