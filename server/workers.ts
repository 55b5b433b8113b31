import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger as PinoLogger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { UsageError } from './cli-spec.js';
import { flushLogger } from './logging.js';

/** What the primary tells a worker. */
export type PrimaryMessage =
  | { readonly tokensmith: 'reload'; readonly reason: string }
  | { readonly tokensmith: 'stop'; readonly by: string }
  | { readonly tokensmith: 'force'; readonly by: string }
  | { readonly tokensmith: 'metrics'; readonly id: number; readonly text?: string };

/** What a worker tells the primary. */
export type WorkerMessage =
  | { readonly tokensmith: 'listening'; readonly url: string }
  | { readonly tokensmith: 'reloaded'; readonly ok: boolean; readonly issues: readonly string[] }
  | { readonly tokensmith: 'metrics'; readonly id: number };

/** More workers than this is a typing mistake rather than a machine. */
const MAX_WORKERS = 256;

/**
 * The number of workers `--workers` asks for: a whole number from 1 to 256, or `auto` for one
 * per core this process may use.
 */
export function workerCount(text: string | undefined, cores: number = availableParallelism()): number {
  if (text === undefined || text === '') return 1;
  if (text === 'auto') return Math.min(cores, MAX_WORKERS);
  const n = /^[0-9]{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_WORKERS)) throw new UsageError(`--workers takes a number from 1 to ${MAX_WORKERS} or auto, got "${text}"`, 'serve');
  return n;
}

/** The first restart waits this long; each further crash in a row doubles it, up to `MAX_RESTART_MS`. */
const FIRST_RESTART_MS = 100;
const MAX_RESTART_MS = 30_000;
/** A worker that served this long before it crashed was not crashing in a loop: the next restart waits the least again. */
const STABLE_MS = 60_000;

/**
 * How long to wait before starting a worker again after `crashes` crashes in a row (1 for the
 * first): 100 ms, doubling, at most 30 s, so that a worker that cannot start (a broken
 * policy file after a reload, an unreachable store) does not keep a core busy restarting.
 */
export function restartDelay(crashes: number): number {
  return Math.min(FIRST_RESTART_MS * 2 ** Math.max(0, crashes - 1), MAX_RESTART_MS);
}

export interface PrimaryOptions {
  readonly workers: number;
  /** The `serve` arguments as given: every worker parses them again (and finds itself a worker). */
  readonly args: readonly string[];
  /** The workers' environment (added to this process's). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: PinoLogger;
  /** Where the one `tokensmith listening on URL` line goes. */
  readonly out: (text: string) => void;
  /** Aborting it stops the workers as SIGTERM does. */
  readonly signal?: AbortSignal;
}

/** The entry point the workers run: the same command line as the primary. */
const ENTRY = fileURLToPath(new URL('../../bin/tokensmith.js', import.meta.url));

/**
 * `serve --workers N`: this process starts N workers (node:cluster) that each run `serve` and
 * share the listening port, and serves nothing itself. The first worker starts alone, so that a
 * mistake (a bad flag, a policy error, the store out of reach) is said once and ends the start
 * with that worker's exit code; the others start once it listens. SIGHUP reloads every worker
 * and logs how each did; SIGTERM/SIGINT drain every worker (a second one cuts them); a worker
 * that ends unasked is started again after `restartDelay`. Resolves to the exit code: 0 when
 * every worker stopped cleanly.
 *
 * @example
 * ```ts
 * process.exitCode = await runWorkers({ workers: 2, args: ['--store', 'redis://127.0.0.1:6379/0'], env: process.env, logger, out: console.log });
 * ```
 */
export function runWorkers(options: PrimaryOptions): Promise<number> {
  return new Primary(options).run();
}

interface Member {
  readonly worker: Worker;
  readonly startedAt: number;
  listening: boolean;
  /** Reloads asked of this worker and not yet answered, oldest first. */
  readonly reloads: ((answer: { ok: boolean; issues: readonly string[] }) => void)[];
}

class Primary {
  readonly #options: PrimaryOptions;
  readonly #log: PinoLogger;
  readonly #members = new Map<number, Member>();
  readonly #restarts = new Set<NodeJS.Timeout>();
  readonly #aggregator = new AggregatorRegistry();
  readonly #own = new Registry();
  readonly #restartCount: Counter;
  #crashes = 0;
  #url: string | undefined;
  #announced = false;
  /** Whether the workers after the first were started (the first listened). */
  #restStarted = false;
  #stopping = false;
  #failedStop = false;
  #finish: (code: number) => void = () => {};

  constructor(options: PrimaryOptions) {
    this.#options = options;
    this.#log = options.logger;
    const members = this.#members;
    new Gauge({
      name: 'tokensmith_workers',
      help: 'Workers of serve --workers N listening now',
      registers: [this.#own],
      collect() {
        this.set([...members.values()].filter((m) => m.listening).length);
      },
    });
    this.#restartCount = new Counter({ name: 'tokensmith_worker_restarts_total', help: 'Workers started again after they ended unasked', registers: [this.#own] });
  }

  async run(): Promise<number> {
    cluster.setupPrimary({ exec: ENTRY, args: ['serve', ...this.#options.args] });
    const finished = new Promise<number>((resolve) => (this.#finish = resolve));
    const onHangup = () => void this.#reload('SIGHUP');
    const stops = (['SIGINT', 'SIGTERM'] as const).map((name) => [name, () => this.#stop(name)] as const);
    process.on('SIGHUP', onHangup);
    for (const [name, handler] of stops) process.on(name, handler);
    const onAbort = () => this.#stop('abort');
    this.#options.signal?.addEventListener('abort', onAbort, { once: true });
    this.#fork(true);
    const code = await finished;
    process.off('SIGHUP', onHangup);
    for (const [name, handler] of stops) process.off(name, handler);
    this.#options.signal?.removeEventListener('abort', onAbort);
    await flushLogger(this.#log);
    return code;
  }

  #fork(first: boolean): void {
    const env = Object.fromEntries(Object.entries(this.#options.env).filter((e): e is [string, string] => e[1] !== undefined));
    const worker = cluster.fork({ ...env, TOKENSMITH_WORKER_FIRST: first ? '1' : '0' });
    const member: Member = { worker, startedAt: Date.now(), listening: false, reloads: [] };
    this.#members.set(worker.id, member);
    worker.on('message', (message: unknown) => {
      if (isWorkerMessage(message)) this.#heard(member, message);
    });
    worker.once('exit', (code, signal) => this.#exited(member, code, signal));
  }

  #heard(member: Member, message: WorkerMessage): void {
    const { worker } = member;
    switch (message.tokensmith) {
      case 'listening':
        member.listening = true;
        this.#url ??= message.url;
        this.#log.info({ worker: worker.id, workerPid: worker.process.pid }, 'worker listening');
        if (!this.#restStarted && !this.#stopping) {
          this.#restStarted = true;
          for (let i = 1; i < this.#options.workers; i++) this.#fork(false);
        }
        this.#announce();
        return;
      case 'reloaded':
        member.reloads.shift()?.({ ok: message.ok, issues: message.issues });
        return;
      case 'metrics':
        void this.#clusterMetrics().then(
          (text) => this.#send(worker, { tokensmith: 'metrics', id: message.id, text }),
          () => this.#send(worker, { tokensmith: 'metrics', id: message.id }),
        );
        return;
    }
  }

  /** Said once, when every worker of the start listens: the line `serve` always prints. */
  #announce(): void {
    const listening = [...this.#members.values()].filter((m) => m.listening).length;
    if (this.#announced || listening < this.#options.workers) return;
    this.#announced = true;
    this.#log.info({ listen: this.#url, workers: this.#options.workers }, 'tokensmith listening');
    this.#options.out(`tokensmith listening on ${this.#url} (${this.#options.workers} workers)`);
  }

  #exited(member: Member, code: number | null, signal: string | null): void {
    const { worker } = member;
    this.#members.delete(worker.id);
    for (const answer of member.reloads.splice(0)) answer({ ok: false, issues: ['the worker ended before it answered'] });
    if (this.#stopping) {
      // A worker that never listened served nothing: ending before it could is no unclean stop.
      if (code !== 0 && member.listening) this.#failedStop = true;
      if (this.#members.size === 0) this.#done();
      return;
    }
    if (!this.#restStarted) {
      // The first worker could not start: it said why; nothing was served.
      this.#finish(code === null || code === 0 ? 1 : code);
      return;
    }
    const lived = Date.now() - member.startedAt;
    this.#crashes = lived >= STABLE_MS ? 1 : this.#crashes + 1;
    const delay = restartDelay(this.#crashes);
    this.#log.error(
      { worker: worker.id, workerPid: worker.process.pid, code, signal, crashesInARow: this.#crashes, restartInMs: delay },
      `worker ${worker.process.pid ?? worker.id} ended unasked; starting another in ${delay} ms`,
    );
    const timer = setTimeout(() => {
      this.#restarts.delete(timer);
      this.#restartCount.inc();
      this.#fork(false);
    }, delay);
    this.#restarts.add(timer);
  }

  #stop(by: string): void {
    if (this.#stopping) {
      this.#log.warn({ signal: by }, 'second stop signal: the workers cut the requests still running');
      for (const { worker } of this.#members.values()) this.#send(worker, { tokensmith: 'force', by });
      return;
    }
    this.#stopping = true;
    for (const timer of this.#restarts) clearTimeout(timer);
    this.#restarts.clear();
    this.#log.info({ signal: by, workers: this.#members.size }, 'shutting down: every worker finishes the requests in flight');
    if (this.#members.size === 0) {
      this.#done();
      return;
    }
    for (const { worker } of this.#members.values()) this.#send(worker, { tokensmith: 'stop', by });
  }

  #done(): void {
    const exitCode = this.#failedStop ? 1 : 0;
    this.#log.info({ exitCode }, exitCode === 0 ? 'tokensmith stopped: every worker stopped cleanly' : 'tokensmith stopped: a worker did not stop cleanly');
    this.#finish(exitCode);
  }

  async #reload(reason: string): Promise<void> {
    const members = [...this.#members.values()].filter((m) => m.listening);
    const answers = await Promise.all(
      members.map(
        (member) =>
          new Promise<{ ok: boolean; issues: readonly string[] }>((resolve) => {
            member.reloads.push(resolve);
            this.#send(member.worker, { tokensmith: 'reload', reason });
          }),
      ),
    );
    const failed = answers.filter((a) => !a.ok);
    const workers = members.map((m, i) => ({ worker: m.worker.id, workerPid: m.worker.process.pid, ok: answers[i]?.ok }));
    if (failed.length === 0) {
      this.#log.info({ reason, workers }, `policies reloaded in every worker (${members.length})`);
    } else {
      this.#log.error(
        { reason, workers, issues: failed[0]?.issues },
        `policy reload failed in ${failed.length} of ${members.length} workers; those keep serving their previous policies`,
      );
    }
  }

  /** Every worker's metrics summed (prom-client's cluster aggregation), then the primary's own. */
  async #clusterMetrics(): Promise<string> {
    const workers = await this.#aggregator.clusterMetrics();
    return `${workers === '' || workers.endsWith('\n') ? workers : `${workers}\n`}${await this.#own.metrics()}`;
  }

  #send(worker: Worker, message: PrimaryMessage): void {
    if (worker.isConnected()) worker.send(message);
  }
}

function isWorkerMessage(message: unknown): message is WorkerMessage {
  return typeof message === 'object' && message !== null && typeof (message as { tokensmith?: unknown }).tokensmith === 'string';
}
