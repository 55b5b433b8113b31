/**
 * `node dist/bench/policy-load.js [runs]`: how long loading a policy file with 5,000 to 40,000
 * unknown keys takes (the file is refused; every key is a problem), best of `runs` (default 3)
 * after one warm-up, in this process. Prints the wall time and the CPU time (steadier on a busy
 * machine) per file and per 1,000 keys: a linear loader keeps the per-key columns flat. A report,
 * not a test; figures in docs/policies.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from '../core/container.js';
import { PolicyInvalidError } from '../core/errors.js';
import { loadPolicies } from '../core/policy/load.js';
import { builtinModules } from '../plugins/index.js';

const SIZES = [5_000, 10_000, 20_000, 40_000];

function unknownKeys(count: number): string {
  const lines = ['id: bench', 'style: emalidate', 'emalidate: { issuer: bench, keys: [{ kid: k, secret: bench-secret-0123456789 }] }'];
  for (let i = 0; i < count; i++) lines.push(`unknown${i}: ${i}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'ts-bench-policy-load-'));
  const { registry, store } = await assemble({ modules: builtinModules });
  const load = async (file: string): Promise<{ ms: number; cpuMs: number; listed: number }> => {
    const start = performance.now();
    const cpu = process.cpuUsage();
    let listed = 0;
    try {
      await loadPolicies([file], { catalog: registry, env: {} });
    } catch (err) {
      if (!(err instanceof PolicyInvalidError)) throw err;
      listed = err.issues.length;
    }
    const used = process.cpuUsage(cpu);
    return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, listed };
  };
  try {
    const files = SIZES.map((count) => {
      const file = join(dir, `keys-${count}.yaml`);
      writeFileSync(file, unknownKeys(count));
      return file;
    });
    await load(files[0] as string);
    console.log('unknown keys | file KB | best ms | ms per 1,000 keys | best CPU ms | CPU ms per 1,000 keys | problems listed');
    for (const [i, file] of files.entries()) {
      const count = SIZES[i] as number;
      let best = Infinity;
      let bestCpu = Infinity;
      let listed = 0;
      for (let run = 0; run < runs; run++) {
        const result = await load(file);
        best = Math.min(best, result.ms);
        bestCpu = Math.min(bestCpu, result.cpuMs);
        listed = result.listed;
      }
      const kb = Math.round(Buffer.byteLength(unknownKeys(count)) / 1024);
      const perThousand = (ms: number) => ((ms / count) * 1000).toFixed(1);
      console.log(`${count} | ${kb} | ${best.toFixed(0)} | ${perThousand(best)} | ${bestCpu.toFixed(0)} | ${perThousand(bestCpu)} | ${listed}`);
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
