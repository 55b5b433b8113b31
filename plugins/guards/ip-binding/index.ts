import type { Guard, GuardPlugin, JsonSchema } from '../../../core/guard.js';
import type { ErrorCode } from '../../../core/errors.js';
import { definePlugin } from '../../../core/plugin.js';
import { AddressList, listEntryProblem, normalizeAddress } from '../../../core/address.js';
import { AddressNotAllowedError, IpBindingError, TokenAddressMismatchError } from '../../../core/errors.js';
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

/** The `ipBinding.allow` lists as written. */
interface AllowText {
  readonly issue?: readonly string[];
  readonly verify?: readonly string[];
}

const allowOf = (policy: Policy): AllowText | undefined => {
  const written = policy.rules['ipBinding'];
  return typeof written === 'object' && written !== null ? (written as { allow?: AllowText }).allow : undefined;
};

const networks = (what: string): JsonSchema => ({
  type: 'array',
  minItems: 1,
  maxItems: 1000,
  items: { type: 'string', minLength: 1, maxLength: 100 },
  description: `${what}: IPv4 and IPv6 addresses and CIDR ranges (10.0.0.0/8, 2001:db8::/32)`,
});

/**
 * IP-binding guard (`ipBinding`): binds a new token to an address, and refuses a bound token
 * presented from another. Verification runs whatever the mode, so a token bound before a
 * reload turned binding off stays bound. With `allow` lists, only callers in `allow.issue` may
 * ask for a token (`ERR_ADDRESS_NOT_ALLOWED`), and a token is only good from `allow.verify`
 * (`ERR_TOKEN_IP_MISMATCH`, checked before the token is looked at); a token is never bound to
 * an address outside `allow.verify`, where it could not be used (`ERR_IP_BINDING`).
 */
export const ipBindingGuard: GuardPlugin = {
  name: 'ip-binding',
  order: 300,
  stateless: true,
  keys: {
    ipBinding: {
    description: 'off | param (bind the address the caller names) | caller (bind the caller\'s own) | required (the caller must name one); or { mode, param, allow }',
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
        allow: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          description: 'networks allowed to ask for tokens (issue) and to use them (verify)',
          properties: { issue: networks('who may ask for a token'), verify: networks('where a token may be used') },
        },
      },
    },
  },
  },
  codes: ['ERR_IP_BINDING', 'ERR_TOKEN_IP_MISMATCH', 'ERR_ADDRESS_NOT_ALLOWED'] satisfies ErrorCode[],
  check(policy) {
    const allow = allowOf(policy);
    const issues: { path: string; message: string }[] = [];
    for (const route of ['issue', 'verify'] as const) {
      (allow?.[route] ?? []).forEach((entry, i) => {
        const problem = listEntryProblem(entry);
        if (problem !== undefined) {
          issues.push({ path: `/ipBinding/allow/${route}/${i}`, message: `"${entry}" ${problem}; expected an address or a CIDR range such as 10.0.0.0/8 or 2001:db8::/32` });
        }
      });
    }
    return issues;
  },
  create(policy) {
    const allow = allowOf(policy);
    const mayAsk = allow?.issue === undefined ? undefined : new AddressList(allow.issue);
    const mayUse = allow?.verify === undefined ? undefined : new AddressList(allow.verify);
    const guard: Guard = {
      beforeMint(attempt) {
        const bound = bindAddress(policy, attempt.request);
        if (bound !== undefined && mayUse !== undefined && !mayUse.has(bound)) {
          throw new IpBindingError('the address to bind the token to is outside the networks where tokens may be used (ipBinding.allow.verify)', {
            policyId: policy.id,
            claim: policy.ipBinding.param,
            reason: 'not-allowed',
          });
        }
        attempt.boundAddress = bound;
      },
      async onVerify(attempt) {
        if (attempt.presented) checkBinding(policy, attempt.record, attempt.request);
      },
    };
    if (mayAsk !== undefined) {
      guard.onRequest = async (request) => {
        if (!mayAsk.has(request.clientAddress)) {
          throw new AddressNotAllowedError('this address may not ask for tokens of this policy', { policyId: policy.id });
        }
      };
    }
    if (mayUse !== undefined) {
      guard.beforeVerify = async (request) => {
        if (!mayUse.has(request.clientAddress)) {
          throw new TokenAddressMismatchError('tokens of this policy may not be used from this address', { policyId: policy.id, reason: 'not-allowed' });
        }
      };
    }
    return guard;
  },
};

/** Registers the `ip-binding` guard. */
export default definePlugin({ name: 'ip-binding', guards: [ipBindingGuard] });
