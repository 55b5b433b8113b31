import * as errors from '../../core/errors.js';
import type { TokenSmithError } from '../../core/errors.js';

/**
 * One instance of every tokensmith error class, each built as the engine builds it, for
 * checking that reply encoders render every failure (and for listing the stable codes).
 *
 * @example everyError('my-policy').map((e) => e.code) // ['ERR_POLICY_INVALID', …]
 */
export function everyError(policyId: string): TokenSmithError[] {
  const made: TokenSmithError[] = [];
  for (const value of Object.values(errors)) {
    if (typeof value !== 'function' || !(value.prototype instanceof errors.TokenSmithError)) continue;
    if (value === errors.PolicyInvalidError) {
      made.push(new errors.PolicyInvalidError([{ file: 'p.yaml', line: 1, col: 1, path: '/id', message: 'example' }]));
    } else if (value === errors.LockedOutError) {
      made.push(new errors.LockedOutError('locked out', 900_000, { policyId }));
    } else {
      const Make = value as unknown as new (message: string, details: errors.ErrorDetails) => TokenSmithError;
      made.push(new Make(`example ${value.name}`, { policyId }));
    }
  }
  return made;
}
