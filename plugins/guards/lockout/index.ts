import type { GuardPlugin } from '../../../core/guard.js';
import type { ErrorCode } from '../../../core/errors.js';
import { definePlugin } from '../../../core/plugin.js';
import { LockoutGuard } from './lockout.js';

export { LockoutGuard, type LockoutSubject } from './lockout.js';

/**
 * Lockout guard (`lockout`): counts failed credential checks per credential and/or address in
 * the store, refuses a locked subject before its secret is compared (`ERR_LOCKED_OUT`), and
 * refuses an attempt whose failure the store would have no room to count (`ERR_STORE_FULL`).
 * See `LockoutGuard` for what a success resets.
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
    },
  },
  },
  codes: ['ERR_LOCKED_OUT', 'ERR_STORE_FULL'] satisfies ErrorCode[],
  check(policy) {
    if (!policy.lockout?.per.includes('credential') || policy.credentials !== undefined) return [];
    const written = policy.rules['lockout'] as { per?: unknown } | undefined;
    return [{ path: written?.per === undefined ? '/lockout' : '/lockout/per', message: 'lockout per credential needs a credentials list' }];
  },
  create(policy, { store, lockoutStarted }) {
    if (policy.lockout === undefined) return undefined;
    const lockout = new LockoutGuard(store);
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
          const started = (key: string) => lockoutStarted({ request: attempt.request, credentialId: attempt.asked.credentialId, subject: LockoutGuard.subjectOf(key) });
          const locked = await lockout.fail(policy, keys, started);
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
