import type { GuardPlugin } from '../../../core/guard.js';
import type { ErrorCode } from '../../../core/errors.js';
import { definePlugin } from '../../../core/plugin.js';
import { normalizeAddress } from '../../../core/address.js';
import { IpBindingError, TokenAddressMismatchError } from '../../../core/errors.js';
import type { Policy } from '../../../core/policy/types.js';
import type { TokenRecord, TokenRequest } from '../../../core/ports.js';

/**
 * IP binding at issue time: the address the new token is bound to, or `undefined`.
 * - `off`: never bound;
 * - `param`: bound to the address the caller names in the policy's parameter, when given;
 * - `required`: as `param`, but the parameter must be given;
 * - `caller`: bound to the caller's own address.
 */
export function bindAddress(policy: Policy, request: TokenRequest): string | undefined {
  const { mode, param } = policy.ipBinding;
  if (mode === 'off') return undefined;
  if (mode === 'caller') return normalizeAddress(request.clientAddress) ?? request.clientAddress;
  const named = request.param(param);
  if (named === undefined || named === '') {
    if (mode === 'required') {
      throw new IpBindingError(`parameter ${param} (the address to bind the token to) is required`, {
        policyId: policy.id,
        claim: param,
      });
    }
    return undefined;
  }
  const address = normalizeAddress(named);
  if (address === undefined) {
    throw new IpBindingError(`parameter ${param} is not an IP address`, { policyId: policy.id, claim: param, reason: 'invalid' });
  }
  return address;
}

/** IP binding at verify time: a bound token is only good from its address. */
export function checkBinding(policy: Policy, record: TokenRecord, request: TokenRequest): void {
  if (record.boundAddress === undefined) return;
  if ((normalizeAddress(request.clientAddress) ?? request.clientAddress) !== record.boundAddress) {
    throw new TokenAddressMismatchError('the token is bound to another address', { policyId: policy.id });
  }
}

/**
 * IP-binding guard (`ipBinding`): binds a new token to an address, and refuses a bound token
 * presented from another. Verification runs whatever the mode, so a token bound before a
 * reload turned binding off stays bound.
 */
export const ipBindingGuard: GuardPlugin = {
  name: 'ip-binding',
  order: 300,
  stateless: true,
  keys: {
    ipBinding: {
    description: 'off | param (bind the address the caller names) | caller (bind the caller\'s own) | required (the caller must name one); or { mode, param }',
    if: { type: 'string' },
    // A JSON Schema `if`/`then`, not a promise.
    // oxlint-disable-next-line unicorn/no-thenable
    then: { enum: ['off', 'param', 'caller', 'required'] },
    else: {
      type: 'object',
      additionalProperties: false,
      required: ['mode'],
      properties: {
        mode: { enum: ['off', 'param', 'caller', 'required'] },
        param: { type: 'string', minLength: 1, description: 'parameter naming the address (default IP)' },
      },
    },
  },
  },
  codes: ['ERR_IP_BINDING', 'ERR_TOKEN_IP_MISMATCH'] satisfies ErrorCode[],
  create: (policy) => ({
    beforeMint(attempt) {
      attempt.boundAddress = bindAddress(policy, attempt.request);
    },
    async onVerify(attempt) {
      if (attempt.presented) checkBinding(policy, attempt.record, attempt.request);
    },
  }),
};

/** Registers the `ip-binding` guard. */
export default definePlugin({ name: 'ip-binding', guards: [ipBindingGuard] });
