import { AssertionError } from 'node:assert';
import { CONFORMANCE_CHECKS } from './checks.js';
import { bench, prepare, type Bench, type ConformanceOptions, type Subject } from './subject.js';

/** The outcome of one check. */
export interface CheckResult {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  /** Why it failed or was skipped. */
  readonly message?: string;
}

export interface ConformanceReport {
  readonly results: readonly CheckResult[];
  readonly passed: boolean;
  readonly failures: readonly CheckResult[];
}

/**
 * Runs every conformance check against a plugin and reports each one; never throws for a broken
 * plugin (a plugin or policy that cannot even load fails every check with the loader's message).
 * Framework-neutral: see {@link assertConformance} to throw, and `describeConformance` for mocha.
 *
 * @example
 * ```ts
 * const report = await runConformance({
 *   plugins: ['./dist/index.js'],
 *   policy: './policies/mine.yaml',
 *   recipe: { issue: { client_id: 'alice', client_secret: 's3cret-0001' }, present: 'bearer' },
 * });
 * for (const r of report.failures) console.error(`${r.name}\n  ${r.message}`);
 * ```
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  let subject: Subject;
  try {
    subject = await prepare(options);
  } catch (err) {
    const message = `the plugin or policy could not be loaded: ${(err as { code?: string }).code ?? (err as Error).name}: ${(err as Error).message}`;
    return report(CONFORMANCE_CHECKS.map((check) => ({ name: check.name, status: 'failed', message })));
  }
  const results: CheckResult[] = [];
  for (const check of CONFORMANCE_CHECKS) {
    const opened: Bench[] = [];
    const open = async () => {
      const made = await bench(subject);
      opened.push(made);
      return made;
    };
    try {
      const outcome = await check.run(subject, open);
      results.push(outcome ? { name: check.name, status: 'skipped', message: outcome.skip } : { name: check.name, status: 'passed' });
    } catch (err) {
      const message = err instanceof AssertionError ? err.message : `the check itself failed: ${(err as Error)?.stack ?? String(err)}`;
      results.push({ name: check.name, status: 'failed', message });
    } finally {
      for (const made of opened) await made.store.close();
    }
  }
  return report(results);
}

function report(results: CheckResult[]): ConformanceReport {
  const failures = results.filter((r) => r.status === 'failed');
  return { results, failures, passed: failures.length === 0 };
}

/**
 * Runs the checks and throws one `AssertionError` listing every failed check, for any test
 * framework (or none).
 *
 * @example await assertConformance({ plugins: [myModule], policy: { text: yaml }, recipe })
 */
export async function assertConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const result = await runConformance(options);
  if (!result.passed) {
    const lines = result.failures.map((f) => `✗ ${f.name}\n    ${(f.message ?? '').replace(/\n/g, '\n    ')}`);
    throw new AssertionError({ message: `the plugin fails ${result.failures.length} conformance check(s):\n${lines.join('\n')}` });
  }
  return result;
}
