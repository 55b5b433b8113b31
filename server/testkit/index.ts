/**
 * The conformance kit (`tokensmith/testkit`): checks a plugin author runs against a token
 * style to see that it honours tokensmith's contracts — see docs/plugins.md.
 *
 * @example
 * ```ts
 * import { describeConformance } from 'tokensmith/testkit';
 * describeConformance('fixture style', {
 *   plugins: ['./index.js'],
 *   policy: './fixture.yaml',
 *   recipe: { issue: { client_id: 'alice', client_secret: 'alice-secret-0001' }, present: { param: 'token' } },
 * });
 * ```
 */
export { runConformance, assertConformance, type CheckResult, type ConformanceReport } from './run.js';
export { describeConformance } from './mocha.js';
export { CONFORMANCE_CHECKS, type ConformanceCheck, type Skip } from './checks.js';
export { everyError } from './errors.js';
export type { ConformanceOptions, ConformanceRecipe, PolicySource } from './subject.js';
