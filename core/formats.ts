import { FormatNotAllowedError } from './errors.js';
import type { Policy } from './policy/types.js';
import type { TokenRequest } from './ports.js';

/**
 * The encoder that renders format `format` for style `style`: `<style>-<format>` when such an
 * encoder is registered (e.g. `melissa-xml`), else the plain `<format>` (e.g. `json`).
 * `undefined` when neither exists (the loader reports it as a policy error).
 */
export function encoderNameFor(style: string, format: string, registered: ReadonlySet<string>): string | undefined {
  const specific = `${style}-${format}`;
  if (registered.has(specific)) return specific;
  return registered.has(format) ? format : undefined;
}

/**
 * Which reply format this request gets (the runtime picks the encoder with it; the output guard
 * refuses a bad choice before any work is done). The policy's `output.param` chooses
 * among `output.allowed`; absent or empty means the default. Values are matched
 * case-insensitively (`Result=XML` is `xml`).
 */
export function chooseFormat(policy: Policy, request: TokenRequest | undefined): string {
  const { param, allowed } = policy.output;
  if (request?.format !== undefined) return request.format;
  const asked = param === undefined || request === undefined ? undefined : request.param(param);
  if (asked === undefined || asked === '') return policy.output.default;
  const lower = asked.toLowerCase();
  for (const name of allowed) if (name === lower) return name;
  throw new FormatNotAllowedError(`reply format "${asked.slice(0, 32)}" is not allowed; use one of: ${allowed.join(', ')}`, {
    policyId: policy.id,
    claim: param,
  });
}
