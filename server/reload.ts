import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { formatPolicyIssue, isTokenSmithError, PolicyInvalidError, type PolicyIssue } from '../core/errors.js';
import { loadPolicies } from '../core/policy/load.js';
import type { Logger } from '../core/ports.js';
import type { Booted } from './bootstrap.js';
import type { Metrics } from './metrics.js';

export interface ReloadOptions {
  /** The policy files and directories, as given at boot. */
  readonly policies: readonly string[];
  /** Where `${env:…}` references are read (as at boot). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

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
      const { policies, warnings } = await loadPolicies(options.policies, {
        catalog: registry,
        ...(options.env === undefined ? {} : { env: options.env }),
      });
      const set = await engine.compile(policies);
      engine.use(set);
      for (const warning of warnings) logger.warn({ warning: formatPolicyIssue(warning) }, 'policy warning');
      const ids = policies.map((p) => p.id);
      logger.info({ reason, policies: ids, generation: engine.generation }, 'policies reloaded');
      options.metrics?.reload(true);
      return { ok: true, policies: ids, warnings };
    } catch (err) {
      const issues = issuesOf(err);
      logger.error(
        { reason, issues: issues.map(formatPolicyIssue), kept: engine.policies.map((p) => p.id) },
        'policy reload failed; the previous policies are still served',
      );
      options.metrics?.reload(false);
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
