// The plugin author's conformance run, outside mocha: `node check.mjs` in this folder.
import { fileURLToPath } from 'node:url';
import { runConformance } from 'tokensmith/testkit';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const report = await runConformance({
  plugins: [here('./index.mjs')],
  policy: here('./stamp.yaml'),
  recipe: { issue: { client_id: 'shop', client_secret: 'shop-secret-change-me-0001' }, present: 'bearer' },
});
for (const failure of report.failures) console.error(`✗ ${failure.name}\n  ${failure.message}`);
console.log(report.passed ? `conformance: all ${report.results.length} checks passed` : `conformance: ${report.failures.length} failed`);
process.exitCode = report.passed ? 0 : 1;
