import type { GuardPlugin } from '../../../core/guard.js';
import type { ErrorCode } from '../../../core/errors.js';
import { definePlugin } from '../../../core/plugin.js';
import { checkLengths, escalationSchema } from './escalation.js';
import { LockoutGuard } from './lockout.js';

export { LockoutGuard, type LockoutSubject } from './lockout.js';
export { LockoutAdmin, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, type LockTarget, type LockView } from './admin.js';

/**
 * Lockout guard (`lockout`): counts failed credential checks per credential and/or address in
 * the store, refuses a locked subject before its secret is compared (`ERR_LOCKED_OUT`), and
 * refuses an attempt whose failure the store would have no room to count (`ERR_STORE_FULL`).
 * See `LockoutGuard` for what a success resets, `lockLength` for escalation, and `LockoutAdmin`
 * for listing and lifting locks.
 */
export const lockoutGuard: GuardPlugin = {
  name: 'lockout',
  order: 200,
  keys: {
    lockout: {
    type: 'object',
    additionalProperties: false,
    required: ['threshold', 'window', 'duration'],
    properties: {
      threshold: { type: 'integer', minimum: 1, maximum: 1000, description: 'failed attempts that lock' },
      window: { $ref: '#/definitions/duration', description: 'period in which failures are counted' },
      duration: { $ref: '#/definitions/duration', description: 'how long a lock lasts' },
      per: {
        type: 'array',
        items: { enum: ['credential', 'address'] },
        minItems: 1,
        uniqueItems: true,
        description: 'count per credential and/or per client address (default [credential])',
      },
      escalation: { ...escalationSchema, description: 'each further lock of the same key lasts longer, up to a cap, or for good' },
    },
  },
  },
  codes: ['ERR_LOCKED_OUT', 'ERR_STORE_FULL'] satisfies ErrorCode[],
  check(policy) {
    const issues = checkLengths(policy);
    if (!policy.lockout?.per.includes('credential') || policy.credentials !== undefined) return issues;
    const written = policy.rules['lockout'] as { per?: unknown } | undefined;
    return [...issues, { path: written?.per === undefined ? '/lockout' : '/lockout/per', message: 'lockout per credential needs a credentials list' }];
  },
  create(policy, { store, clock, lockoutStarted }) {
    if (policy.lockout === undefined) return undefined;
    const lockout = new LockoutGuard(store, clock);
    return {
      async beforeCredentials(attempt) {
        const { asked, request, secretDigest } = attempt;
        const keys = lockout.keys(policy, {
          credentialId: asked.credentialId,
          secretDigest: asked.credentialId === undefined ? secretDigest : undefined,
          address: request.clientAddress,
        });
        attempt.note('lockout', { keys, counted: keys.length ? await lockout.assertOpen(policy, keys) : [] });
      },
      async afterCredentials(attempt) {
        const { keys = [], counted = [] } = attempt.noted<{ keys: string[]; counted: string[] }>('lockout') ?? {};
        if (!keys.length) return;
        if (attempt.credential === undefined) {
          const subject = { credentialId: attempt.asked.credentialId, address: attempt.request.clientAddress };
          const started = (key: string) => lockoutStarted({ request: attempt.request, credentialId: attempt.asked.credentialId, subject: LockoutGuard.subjectOf(key) });
          const locked = await lockout.fail(policy, keys, { engaged: started, subject });
          if (locked !== undefined) throw locked;
        } else if (counted.length) {
          await lockout.succeed(policy, counted, attempt.request);
        }
      },
    };
  },
};

/** Registers the `lockout` guard. */
export default definePlugin({ name: 'lockout', guards: [lockoutGuard] });
