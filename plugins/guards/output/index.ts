import type { GuardPlugin } from '../../../core/guard.js';
import type { ErrorCode } from '../../../core/errors.js';
import { definePlugin } from '../../../core/plugin.js';
import { chooseFormat } from '../../../core/formats.js';

/**
 * Output guard: refuses a reply format the policy does not allow (`output.param` naming a format
 * outside `output.allowed`) before any other work, with `ERR_FORMAT_NOT_ALLOWED`. The reply
 * itself is rendered by the runtime in the chosen format.
 */
export const outputGuard: GuardPlugin = {
  name: 'output',
  order: 100,
  stateless: true,
  keys: {
    output: {
    type: 'object',
    additionalProperties: false,
    properties: {
      param: { type: 'string', minLength: 1, description: 'request parameter choosing the format' },
      default: { $ref: '#/definitions/formatName', description: 'format when none is asked (default json)' },
      allowed: { type: 'array', items: { $ref: '#/definitions/formatName' }, minItems: 1, uniqueItems: true },
    },
  },
  },
  codes: ['ERR_FORMAT_NOT_ALLOWED'] satisfies ErrorCode[],
  create: (policy) =>
    policy.output.param === undefined
      ? undefined
      : {
          async onRequest(request) {
            chooseFormat(policy, request);
          },
        },
};

/** Registers the `output` guard. */
export default definePlugin({ name: 'output', guards: [outputGuard] });
