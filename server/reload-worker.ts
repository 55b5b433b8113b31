/**
 * The worker thread a reload loads the policy files in (see `compileOffThread` in reload.ts):
 * parsing and checking a large file takes long enough to stall every request if it ran on the
 * event loop. It builds its own catalog from the built-in plugins and the outside ones given by
 * path, loads the files, and posts back the plain policies or the issues. Nothing here serves.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assemble } from '../core/container.js';
import { PolicyInvalidError, TokenSmithError, type PolicyIssue } from '../core/errors.js';
import { loadPluginModule } from '../core/plugin-loader.js';
import { loadPolicies } from '../core/policy/load.js';
import type { Policy } from '../core/policy/types.js';
import { builtinModules } from '../plugins/index.js';

/** What the reloader sends. */
export interface WorkerInput {
  readonly policies: readonly string[];
  readonly plugins: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly maxFileBytes?: number;
}

/** What the worker answers. */
export type WorkerOutput =
  | { readonly ok: true; readonly policies: readonly Policy[]; readonly warnings: readonly PolicyIssue[] }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

async function run(input: WorkerInput): Promise<WorkerOutput> {
  try {
    const outside = [];
    for (const path of input.plugins) outside.push(await loadPluginModule(path));
    const { registry, store } = await assemble({ modules: [...builtinModules, ...outside] });
    try {
      const { policies, warnings } = await loadPolicies(input.policies, {
        catalog: registry,
        env: input.env,
        ...(input.maxFileBytes === undefined ? {} : { maxFileBytes: input.maxFileBytes }),
      });
      return { ok: true, policies, warnings };
    } finally {
      await store.close();
    }
  } catch (err) {
    if (err instanceof PolicyInvalidError) return { ok: false, issues: err.issues };
    // Never a stack or a raw message from outside code: the reloader logs this line.
    const message = err instanceof TokenSmithError ? `${err.code}: ${err.message}` : 'the policies could not be compiled';
    return { ok: false, issues: [{ file: '(policies)', line: 1, col: 1, path: '', message }] };
  }
}

parentPort?.postMessage(await run(workerData as WorkerInput));
