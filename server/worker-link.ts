import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { MetricsUnavailableError, formatPolicyIssue } from '../core/errors.js';
import type { ReloadResult } from './reload.js';
import type { PrimaryMessage, WorkerMessage } from './workers.js';

/** How long a worker waits for the primary to gather every worker's metrics (prom-client gives up after 5 s). */
const METRICS_WAIT_MS = 7_000;

/**
 * A `serve` worker's line to the primary that started it (`serve --workers N`): it says when it
 * listens and how a reload went, and is told to reload and to stop. Messages that arrive before
 * `serve` has attached its handlers wait for them, so a stop sent while a worker boots is not lost.
 */
export interface WorkerLink {
  /** The first worker of a start: it alone announces the policies and the start-up warnings. */
  readonly first: boolean;
  listening(url: string): void;
  /** Runs `reload` when the primary asks (SIGHUP to the primary) and reports how it went. */
  onReload(reload: (reason: string) => Promise<ReloadResult>): void;
  /** `stop(by)` when the primary asks for a graceful stop; `force(by)` for its second signal. */
  onStop(stop: (by: string) => void, force: (by: string) => void): void;
  /** Makes `registry` the worker's share of the cluster's metrics. */
  shareMetrics(registry: Registry): void;
  /** Every worker's metrics, summed by the primary, as Prometheus text. */
  clusterMetrics(): Promise<string>;
  /** Stops listening to the primary. */
  close(): void;
}

/**
 * Ends a worker's line to the primary once `serve` is done (or failed to start), so that the
 * worker exits when the rest of it is done; disconnecting on purpose keeps Node from taking it
 * for a lost primary. Nothing in a process of its own.
 */
export function leaveCluster(): void {
  if (cluster.worker?.isConnected()) cluster.worker.disconnect();
}

/** The link when this process is a cluster worker; `undefined` in a process of its own. */
export function workerLink(): WorkerLink | undefined {
  return cluster.isWorker ? new ClusterWorkerLink() : undefined;
}

class ClusterWorkerLink implements WorkerLink {
  readonly first = process.env['TOKENSMITH_WORKER_FIRST'] === '1';
  readonly #waiting: PrimaryMessage[] = [];
  readonly #metrics = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
  #reload: ((reason: string) => Promise<ReloadResult>) | undefined;
  #stop: ((by: string) => void) | undefined;
  #force: ((by: string) => void) | undefined;
  #asked = 0;
  readonly #onMessage = (message: unknown): void => {
    if (isPrimaryMessage(message)) this.#handle(message);
  };

  constructor() {
    process.on('message', this.#onMessage);
  }

  listening(url: string): void {
    this.#send({ tokensmith: 'listening', url });
  }

  onReload(reload: (reason: string) => Promise<ReloadResult>): void {
    this.#reload = reload;
    this.#replay();
  }

  onStop(stop: (by: string) => void, force: (by: string) => void): void {
    this.#stop = stop;
    this.#force = force;
    this.#replay();
  }

  shareMetrics(registry: Registry): void {
    AggregatorRegistry.setRegistries([registry]);
    // Constructing one is what makes prom-client answer the primary's requests in this worker.
    new AggregatorRegistry();
  }

  clusterMetrics(): Promise<string> {
    const id = ++this.#asked;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#metrics.delete(id);
        reject(new MetricsUnavailableError('the workers did not all report their metrics in time'));
      }, METRICS_WAIT_MS);
      this.#metrics.set(id, {
        resolve: (text) => (clearTimeout(timer), resolve(text)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      this.#send({ tokensmith: 'metrics', id });
    });
  }

  close(): void {
    process.off('message', this.#onMessage);
  }

  #handle(message: PrimaryMessage): void {
    switch (message.tokensmith) {
      case 'metrics': {
        const waiting = this.#metrics.get(message.id);
        this.#metrics.delete(message.id);
        if (message.text !== undefined) waiting?.resolve(message.text);
        else waiting?.reject(new MetricsUnavailableError('the workers did not all report their metrics'));
        return;
      }
      case 'reload':
        if (this.#reload === undefined) break;
        void this.#reload(message.reason).then((result) =>
          this.#send({ tokensmith: 'reloaded', ok: result.ok, issues: result.ok ? [] : result.issues.map(formatPolicyIssue) }),
        );
        return;
      case 'stop':
        if (this.#stop === undefined) break;
        this.#stop(message.by);
        return;
      case 'force':
        if (this.#force === undefined) break;
        this.#force(message.by);
        return;
    }
    this.#waiting.push(message);
  }

  #replay(): void {
    for (const message of this.#waiting.splice(0)) this.#handle(message);
  }

  #send(message: WorkerMessage): void {
    if (process.send !== undefined && process.connected) process.send(message);
  }
}

function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return typeof message === 'object' && message !== null && typeof (message as { tokensmith?: unknown }).tokensmith === 'string';
}
