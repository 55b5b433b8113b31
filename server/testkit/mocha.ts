import { AssertionError } from 'node:assert';
import { CONFORMANCE_CHECKS } from './checks.js';
import { runConformance, type ConformanceReport } from './run.js';
import type { ConformanceOptions } from './subject.js';

/**
 * Declares a mocha suite with one test per conformance check (skipped checks show as pending).
 * Uses mocha's globals, so call it at the top level of a spec file that mocha runs.
 *
 * @example
 * ```js
 * import { describeConformance } from 'tokensmith/testkit';
 * describeConformance('my-style', { plugins: ['./index.js'], policy: './policy.yaml', recipe: { issue: {…}, present: 'bearer' } });
 * ```
 */
export function describeConformance(title: string, options: ConformanceOptions): void {
  if (typeof globalThis.describe !== 'function' || typeof globalThis.it !== 'function') {
    throw new TypeError('describeConformance runs inside mocha (describe/it are not defined here); use runConformance or assertConformance elsewhere');
  }
  describe(title, function conformance() {
    let report: ConformanceReport | undefined;
    before(async function runChecks() {
      this.timeout(60_000);
      report = await runConformance(options);
    });
    for (const check of CONFORMANCE_CHECKS) {
      it(check.name, function verdict() {
        const result = report?.results.find((r) => r.name === check.name);
        if (result === undefined) throw new AssertionError({ message: 'the conformance run did not report this check' });
        if (result.status === 'skipped') this.skip();
        if (result.status === 'failed') throw new AssertionError({ message: result.message ?? 'failed' });
      });
    }
  });
}
