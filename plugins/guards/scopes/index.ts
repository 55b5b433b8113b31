import type { GuardPlugin } from '../../../core/guard.js';
import type { ErrorCode } from '../../../core/errors.js';
import { definePlugin } from '../../../core/plugin.js';
import { ScopeNotAllowedError, TokenScopeError } from '../../../core/errors.js';

const NO_SCOPES: readonly string[] = Object.freeze([]);

/**
 * Scopes guard (Melissa packages). At issue, everything asked must be allowed to the credential
 * (`credentials[].scopes`); nothing asked means all it is allowed. At verify, the token must
 * carry every scope the request and the route expect. It owns no policy key of its own.
 */
export const scopesGuard: GuardPlugin = {
  name: 'scopes',
  order: 400,
  stateless: true,
  keys: {},
  codes: ['ERR_SCOPE_NOT_ALLOWED', 'ERR_TOKEN_SCOPE'] satisfies ErrorCode[],
  create: (policy) => ({
    beforeMint(attempt) {
      const allowed = attempt.credential?.scopes;
      const asked = attempt.asked.scopes;
      if (asked === undefined) {
        attempt.scopes = allowed ?? NO_SCOPES;
        return;
      }
      const refused = allowed === undefined ? [] : asked.filter((scope) => !allowed.includes(scope));
      if (refused.length) {
        throw new ScopeNotAllowedError(`not allowed for this credential: ${refused.join(', ')}`, { policyId: policy.id, claim: refused[0] });
      }
      attempt.scopes = asked;
    },
    async onVerify({ record, expectations }) {
      for (const expected of expectations) {
        const missing = expected.scopes?.find((scope) => !record.scopes.includes(scope));
        if (missing !== undefined) throw new TokenScopeError(`the token does not carry scope ${missing}`, { policyId: policy.id, claim: missing });
      }
    },
  }),
};

/** Registers the `scopes` guard. */
export default definePlugin({ name: 'scopes', guards: [scopesGuard] });
