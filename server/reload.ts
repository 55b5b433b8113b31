import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { formatPolicyIssue, isTokenSmithError, PolicyInvalidError, type PolicyIssue } from '../core/errors.js';
import { deepFreeze, loadPolicies, type LoadResult } from '../core/policy/load.js';
import type { Logger } from '../core/ports.js';
import type { Policy } from '../core/policy/types.js';
import type { Booted } from './bootstrap.js';
import type { AuditTrail } from './audit.js';
import type { Metrics } from './metrics.js';
import type { WorkerInput, WorkerOutput } from './reload-worker.js';

export interface ReloadOptions {
  /** The policy files and directories, as given at boot. */
  readonly policies: readonly string[];
  /** Where `${env:…}` references are read (as at boot). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Where each reload is recorded (`policies.reloaded`). */
  readonly audit?: Pick<AuditTrail, 'record'>;
  /**
   * Load the files in a worker thread, so that requests keep being served while a large file is
   * parsed and checked. The worker builds its own catalog from the built-in plugins and
   * `plugins` (the outside plugin paths given at boot): it must be the set the booted registry
   * holds. Absent: the files are loaded on the event loop (for hosts that register styles in code).
   */
  readonly worker?: { readonly plugins: readonly string[] };
  /** Further reasons to refuse a valid set (`serve --memory-per-worker`: policies that keep state); the old set keeps serving. */
  readonly check?: (policies: readonly Policy[]) => readonly PolicyIssue[];
}

/** A worker that has not answered by then is stopped, and the reload fails (the old set keeps serving). */
const WORKER_TIMEOUT_MS = 120_000;
/** The worker's heap: a file at the size limit needs a few hundred MB at most; more is an attack or a raised limit. */
const WORKER_HEAP_MB = 1024;

/** What one reload did. */
export type ReloadResult =
  | { readonly ok: true; readonly policies: readonly string[]; readonly warnings: readonly PolicyIssue[] }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

export interface Reloader {
  /**
   * Loads the policy files again and, when every file is valid, serves the new set at once;
   * requests already running finish on the set they started with. When any file is invalid,
   * the old set keeps serving and every issue is logged as `file:line:col: /path: message`.
   * Calls made while a reload runs are coalesced into one more reload after it.
   */
  reload(reason: string): Promise<ReloadResult>;
}

/**
 * Makes the reload function that `SIGHUP` and `serve --watch` share.
 *
 * @example
 * ```ts
 * const { reload } = reloader(booted, { policies: ['policies'], logger });
 * process.on('SIGHUP', () => void reload('SIGHUP'));
 * ```
 */
export function reloader(booted: Pick<Booted, 'engine' | 'registry'>, options: ReloadOptions): Reloader {
  const { engine, registry } = booted;
  const { logger } = options;
  let running: Promise<ReloadResult> | undefined;
  let queued: Promise<ReloadResult> | undefined;

  async function once(reason: string): Promise<ReloadResult> {
    try {
      const env = options.env ?? process.env;
      const { policies, warnings } =
        options.worker === undefined
          ? await loadPolicies(options.policies, { catalog: registry, env })
          : await loadOffThread({ policies: options.policies, plugins: options.worker.plugins, env });
      const refused = options.check?.(policies) ?? [];
      if (refused.length > 0) throw new PolicyInvalidError([...refused]);
      const set = await engine.compile(policies);
      engine.use(set);
      for (const warning of warnings) logger.warn({ warning: formatPolicyIssue(warning) }, 'policy warning');
      const ids = policies.map((p) => p.id);
      logger.info({ reason, policies: ids, generation: engine.generation }, 'policies reloaded');
      options.metrics?.reload(true);
      options.audit?.record('policies.reloaded', { reason, outcome: 'ok', generation: engine.generation, issues: 0, policies: ids });
      return { ok: true, policies: ids, warnings };
    } catch (err) {
      const issues = issuesOf(err);
      logger.error(
        { reason, issues: issues.map(formatPolicyIssue), kept: engine.policies.map((p) => p.id) },
        'policy reload failed; the previous policies are still served',
      );
      options.metrics?.reload(false);
      options.audit?.record('policies.reloaded', { reason, outcome: 'failed', generation: engine.generation, issues: issues.length, policies: engine.policies.map((p) => p.id) });
      return { ok: false, issues };
    }
  }

  function reload(reason: string): Promise<ReloadResult> {
    if (running === undefined) {
      running = once(reason).finally(() => {
        running = undefined;
      });
      return running;
    }
    queued ??= running.then(() => {
      queued = undefined;
      return reload(reason);
    });
    return queued;
  }

  return { reload };
}

/** `loadPolicies` in a worker thread: the same result, or the same `PolicyInvalidError`. */
function loadOffThread(input: WorkerInput): Promise<LoadResult> {
  const failed = (message: string) => new PolicyInvalidError([{ file: '(policies)', line: 1, col: 1, path: '', message }]);
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(new URL('./reload-worker.js', import.meta.url), {
      workerData: input,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      stdout: true,
      stderr: true,
    });
    const timer = setTimeout(() => {
      reject(failed(`loading the policies took longer than ${WORKER_TIMEOUT_MS / 1000} s; stopped`));
      void worker.terminate();
    }, WORKER_TIMEOUT_MS);
    // A reload must not hold a stopping server open: the server's own handles keep the process alive while it serves.
    worker.unref();
    timer.unref();
    const settle = (): void => clearTimeout(timer);
    worker.once('message', (output: WorkerOutput) => {
      settle();
      if (output.ok) resolvePromise({ policies: output.policies.map((p) => deepFreeze(p)), warnings: [...output.warnings] });
      else reject(new PolicyInvalidError(output.issues));
    });
    worker.once('error', (err: Error & { code?: string }) => {
      settle();
      reject(failed(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `loading the policies needed more than ${WORKER_HEAP_MB} MB; stopped` : 'the policies could not be compiled'));
    });
    worker.once('exit', () => {
      settle();
      reject(failed('the policies could not be compiled'));
    });
  });
}

/** The issues of a failed load, or one issue describing an unexpected failure (never its stack). */
function issuesOf(err: unknown): PolicyIssue[] {
  if (err instanceof PolicyInvalidError) return [...err.issues];
  const message = isTokenSmithError(err) ? `${err.code}: ${err.message}` : 'the policies could not be compiled';
  return [{ file: '(policies)', line: 1, col: 1, path: '', message }];
}

export interface WatchOptions {
  /** Quiet time after the last change before reloading (editors write in several steps). Default 250 ms. */
  readonly debounceMs?: number;
  /** A watcher failed (its directory was removed, …); watching stops for that directory. */
  readonly onError?: (err: Error) => void;
}

/**
 * `serve --watch`: watches the directories of the policy paths (a file is watched through its
 * directory, so editors that replace the file are seen) and calls `onChange` once the changes
 * have settled. Only `*.yaml`/`*.yml` files (or the named files) count. `close()` stops watching.
 */
export async function watchPolicies(paths: readonly string[], onChange: () => void, options: WatchOptions = {}): Promise<{ close(): void }> {
  const debounceMs = options.debounceMs ?? 250;
  const byDir = new Map<string, Set<string> | 'yaml'>();
  for (const path of paths) {
    const full = resolve(path);
    const isDir = (await stat(full).catch(() => undefined))?.isDirectory() ?? false;
    const dir = isDir ? full : dirname(full);
    const wanted = byDir.get(dir);
    if (isDir || wanted === 'yaml') byDir.set(dir, 'yaml');
    else byDir.set(dir, new Set([...(wanted ?? []), basename(full)]));
  }
  let timer: NodeJS.Timeout | undefined;
  const changed = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const [dir, wanted] of byDir) {
    const watcher = watch(dir, { persistent: false }, (_event, name) => {
      const file = name?.toString();
      if (file === undefined || (wanted === 'yaml' ? /\.ya?ml$/.test(file) : wanted.has(file))) changed();
    });
    watcher.on('error', (err) => {
      watcher.close();
      options.onError?.(err);
    });
    watchers.push(watcher);
  }
  return {
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
