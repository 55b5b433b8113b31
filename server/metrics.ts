import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Engine } from '../core/engine.js';

/** The kinds of token request the host serves; a label of the latency histogram. */
export type RequestKind = 'issue' | 'verify' | 'introspect' | 'revoke';

export interface MetricsOptions {
  /** Also collect Node's process metrics (CPU, memory, event loop lag, GC). Default false. */
  readonly processMetrics?: boolean;
  /**
   * Where `GET /metrics` reads its text. Default: this registry. A `serve --workers N` worker
   * reads every worker's counts, summed by the primary, so that no scrape shows one worker's alone.
   */
  readonly gather?: () => Promise<string>;
}

/** Latency buckets in seconds: token requests take from well under a millisecond to a store timeout. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * tokensmith's Prometheus metrics, in a registry of their own (never prom-client's global one,
 * so several apps in one process keep separate counts). Labels are low-cardinality by design:
 * policy ids, request kinds and error codes, never a token, an address or a caller's path.
 *
 * @example
 * ```ts
 * const metrics = new Metrics();
 * metrics.watch(engine);
 * metrics.request('issue', 'electa', 'ok', 0.0012);
 * const text = await metrics.registry.metrics();
 * ```
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #issued: Counter<'policy'>;
  readonly #refused: Counter<'policy' | 'code'>;
  readonly #verified: Counter<'policy' | 'outcome'>;
  readonly #admin: Counter<'route' | 'outcome'>;
  readonly #lockouts: Counter<'policy'>;
  readonly #storeErrors: Counter;
  readonly #storeFull: Counter;
  readonly #reloads: Counter<'outcome'>;
  readonly #duration: Histogram<'kind' | 'policy'>;
  /** One recorder per (kind, policy, outcome): label lookups happen once, not per request. */
  readonly #recorders = new Map<string, (seconds: number) => void>();
  #engines: Engine[] = [];
  readonly #gather: () => Promise<string>;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.#gather = options.gather ?? (() => this.registry.metrics());
    this.#issued = new Counter({ name: 'tokensmith_tokens_issued_total', help: 'Tokens issued, by policy', labelNames: ['policy'], registers });
    this.#refused = new Counter({
      name: 'tokensmith_tokens_refused_total',
      help: 'Issue requests refused, by policy and error code',
      labelNames: ['policy', 'code'],
      registers,
    });
    this.#verified = new Counter({
      name: 'tokensmith_verify_total',
      help: 'Tokens presented to protected routes, by policy and outcome (ok or the error code)',
      labelNames: ['policy', 'outcome'],
      registers,
    });
    this.#admin = new Counter({
      name: 'tokensmith_admin_requests_total',
      help: 'Introspection and revocation requests, by route and outcome (ok or the error code)',
      labelNames: ['route', 'outcome'],
      registers,
    });
    this.#lockouts = new Counter({
      name: 'tokensmith_lockouts_total',
      help: 'Locks started (a credential or address reached the failure threshold), by policy',
      labelNames: ['policy'],
      registers,
    });
    this.#storeErrors = new Counter({ name: 'tokensmith_store_errors_total', help: 'Store calls that failed (requests failed closed)', registers });
    this.#storeFull = new Counter({
      name: 'tokensmith_store_full_total',
      help: 'Requests refused because the store held its maximum of entries (ERR_STORE_FULL)',
      registers,
    });
    this.#reloads = new Counter({
      name: 'tokensmith_policy_reloads_total',
      help: 'Policy reloads, by outcome (ok, or failed: the previous policies kept serving)',
      labelNames: ['outcome'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'tokensmith_request_duration_seconds',
      help: 'Token request latency, by request kind and policy',
      labelNames: ['kind', 'policy'],
      buckets: BUCKETS,
      registers,
    });
    const engines = () => this.#engines;
    // Read when scraped: the number of policies the watched engines serve now.
    new Gauge({
      name: 'tokensmith_policies',
      help: 'Policies served now',
      registers,
      // Summed over the workers of `serve --workers N` it would count each policy N times.
      aggregator: 'max',
      collect() {
        this.set(engines().reduce((n, engine) => n + engine.policies.length, 0));
      },
    });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The text `GET /metrics` answers, in Prometheus format. */
  text(): Promise<string> {
    return this.#gather();
  }

  /** Counts what the engine reports outside requests: locks started, store failures, a full store. Returns the unsubscribe. */
  watch(engine: Engine): () => void {
    this.#engines.push(engine);
    const stop = engine.observe({
      lockout: (policy) => this.#lockouts.labels(policy).inc(),
      storeError: () => this.#storeErrors.inc(),
      storeFull: () => this.#storeFull.inc(),
    });
    return () => {
      stop();
      this.#engines = this.#engines.filter((e) => e !== engine);
    };
  }

  /** Records one token request: its latency and its outcome (`ok` or an error code). `policy` is `''` when none applies. */
  request(kind: RequestKind, policy: string, outcome: string, seconds: number): void {
    const key = `${kind}\u0000${policy}\u0000${outcome}`;
    let record = this.#recorders.get(key);
    if (record === undefined) {
      record = this.#recorder(kind, policy, outcome);
      this.#recorders.set(key, record);
    }
    record(seconds);
  }

  /** Records a policy reload. */
  reload(ok: boolean): void {
    this.#reloads.labels(ok ? 'ok' : 'failed').inc();
  }

  #recorder(kind: RequestKind, policy: string, outcome: string): (seconds: number) => void {
    const latency = this.#duration.labels(kind, policy);
    const count =
      kind === 'issue'
        ? outcome === 'ok'
          ? this.#issued.labels(policy)
          : this.#refused.labels(policy, outcome)
        : kind === 'verify'
          ? this.#verified.labels(policy, outcome)
          : this.#admin.labels(kind, outcome);
    return (seconds) => {
      latency.observe(seconds);
      count.inc();
    };
  }
}
