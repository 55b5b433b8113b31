import type { Context } from 'koa';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';
import { Writable } from 'node:stream';
import type { PolicySet } from '../core/engine.js';
import type { Policy } from '../core/policy/types.js';

export interface LoggerOptions {
  /**
   * Where JSON lines go: a file descriptor (default 2, stderr), a file path, or any stream with
   * `write(line)`. Descriptors and paths are written asynchronously by pino's sonic-boom
   * destination (batched up to 4 KiB or 100 ms, flushed on exit), so logging stays cheap on the
   * request path.
   */
  readonly destination?: number | string | DestinationStream;
  /** `trace` … `fatal`, or `silent`. Default `info`. */
  readonly level?: string;
  /**
   * `json` (default): one JSON object a line, for log collectors. `pretty`: one readable line per
   * entry (time, level, message, then the fields), for a person at a terminal; written
   * synchronously, as a terminal reads slower than the server writes anyway.
   */
  readonly format?: LogFormat;
  /** With `pretty`: colour the levels (for a terminal). Default false. */
  readonly colorize?: boolean;
  /**
   * Other processes write to the same descriptor (the workers of `serve --workers N` share
   * stderr): each write then holds whole lines and at most 4 KiB, which a pipe writes in one
   * piece (PIPE_BUF), so that no line of one process is cut by another's. Default false.
   */
  readonly shared?: boolean;
}

export type LogFormat = 'json' | 'pretty';

/**
 * Keys that would hold a secret if anyone ever logged such an object: pino replaces their values.
 * tokensmith's own lines never carry them (they log a path, never a URL, and no headers); this is
 * the second line of defence for code that passes whole objects. Top-level keys only, because
 * wildcard paths (`*.token`) make every line much dearer to write.
 */
const REDACT = ['authorization', 'token', 'secret', 'licence', 'license', 'appkey', 'password', 'query', 'querystring', 'url', 'headers'];

/**
 * The production logger: pino, JSON lines, asynchronous destination.
 *
 * @example
 * ```ts
 * const logger = createLogger({ destination: '/var/log/tokensmith.log' });
 * const app = createApp({ engine, logger });
 * ```
 */
export function createLogger(options: LoggerOptions = {}): PinoLogger {
  const destination = options.destination ?? 2;
  const stream =
    options.format === 'pretty'
      ? pretty({ destination: typeof destination === 'object' ? asWritable(destination) : destination, sync: true, colorize: options.colorize ?? false, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : typeof destination === 'object'
        ? destination
        : lineDestination(destination, options.shared === true);
  return pino({ level: options.level ?? 'info', redact: { paths: REDACT, censor: '[redacted]' } }, stream);
}

/** The most Linux writes to a pipe in one piece. */
const PIPE_BUF = 4096;

/**
 * pino's asynchronous sonic-boom destination, fed each line as bytes and batched. In its default
 * text mode sonic-boom appends a line to the text still waiting for the write in flight and
 * measures the whole of it (`Buffer.byteLength`) again on every line, then converts it to bytes
 * on the main thread; buffer mode keeps a list of byte chunks and their lengths instead. And as
 * each `write(2)` has a fixed cost much larger than a line's share of a bigger one, lines wait
 * until 4 KiB are pending or 100 ms have passed (`minLength`, `periodicFlush`); pino's exit
 * hook writes the rest synchronously, so only a `SIGKILL` can lose lines (the last 100 ms).
 */
export function lineDestination(dest: number | string, shared = false): DestinationStream {
  const batch = shared ? { minLength: PIPE_BUF / 2, maxWrite: PIPE_BUF } : { minLength: 4096 };
  const sonic = pino.destination({ dest, sync: false, mkdir: true, contentMode: 'buffer', periodicFlush: 100, ...batch });
  return {
    // In buffer mode sonic-boom takes bytes; its types only declare the text form.
    write: (line: string) => sonic.write(Buffer.from(line) as unknown as string),
    flush: (cb?: (err?: Error) => void) => sonic.flush(cb),
    flushSync: () => sonic.flushSync(),
  } as DestinationStream;
}

/** pino-pretty writes to a Node stream; a destination may be any object with `write(line)`. */
function asWritable(destination: DestinationStream): Writable {
  if (destination instanceof Writable) return destination;
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      destination.write(chunk.toString());
      done();
    },
  });
}

/** Writes what the logger buffered; resolves when done (or at once for destinations that do not buffer). */
export function flushLogger(logger: object): Promise<void> {
  const flush = (logger as { flush?: (cb: (err?: Error) => void) => void }).flush;
  if (typeof flush !== 'function') return Promise.resolve();
  return new Promise((resolve) => flush.call(logger, () => resolve()));
}

/** Setting names whose values (and everything below them) are treated as secrets. */
const SECRET_NAME = /secret|password|passphrase|key|licen[cs]e|token|iv$|salt/i;
const MIN_SECRET = 4;
/** Shorter request values (`csv`, `42`, `node`) are left alone: replacing them would garble every stack. */
const MIN_REQUEST_VALUE = 8;
const JWT = /eyJ[\w-]*\.[\w-]*\.[\w-]*/g;

function collect(value: unknown, secret: boolean, into: Set<string>, min = MIN_SECRET): void {
  if (typeof value === 'string') {
    if (secret && value.length >= min) into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collect(item, secret, into, min);
  } else if (value !== null && typeof value === 'object') {
    for (const [name, inner] of Object.entries(value)) collect(inner, secret || SECRET_NAME.test(name), into, min);
  }
}

/** Every secret value a policy holds: credential secrets, route presets (a helper's licence), secret-looking style settings. */
export function policySecrets(policies: readonly Policy[]): Set<string> {
  const found = new Set<string>();
  for (const policy of policies) {
    for (const credential of policy.credentials ?? []) collect(credential.secret, true, found);
    for (const route of policy.routes) collect(route.preset ?? {}, true, found);
    collect(policy.settings, false, found);
  }
  return found;
}

/**
 * The values a caller sent that may be a secret or a token (typed wrong or not): every query and
 * body parameter, and the credential-carrying headers (`Authorization`, `Cookie`, `X-Api-Key`, …).
 */
function requestValues(ctx: Context): Set<string> {
  const found = new Set<string>();
  collect(ctx.query, true, found, MIN_REQUEST_VALUE);
  collect((ctx.request as { body?: unknown }).body, true, found, MIN_REQUEST_VALUE);
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (name !== 'authorization' && name !== 'cookie' && !SECRET_NAME.test(name)) continue;
    collect(value, true, found, MIN_REQUEST_VALUE);
    for (const part of String(value).split(/[\s,;=]+/)) collect(part, true, found, MIN_REQUEST_VALUE);
  }
  return found;
}

/** Removes secrets from a text that is about to be logged. */
export type Scrubber = (text: string, ctx?: Context) => string;

/**
 * A scrubber for texts we do not write ourselves (an unexpected error's message and stack): it
 * replaces every secret of the served policies, the `extra` secrets (admin, metrics), every
 * value the caller sent, and anything shaped like a JWT, with `[redacted]`.
 *
 * @example logger.error({ stack: scrub(String(err.stack), ctx) }, 'unexpected error')
 */
export function scrubberFor(served: () => PolicySet, extra: readonly (string | undefined)[] = []): Scrubber {
  let set: PolicySet | undefined;
  let known: string[] = [];
  return (text, ctx) => {
    if (set !== served()) {
      set = served();
      const secrets = policySecrets(set.policies);
      for (const value of extra) if (value !== undefined && value.length >= MIN_SECRET) secrets.add(value);
      known = [...secrets];
    }
    const all = ctx === undefined ? known : [...known, ...requestValues(ctx)];
    let out = text;
    // Longest first, so a secret that contains another is removed whole.
    for (const secret of all.sort((a, b) => b.length - a.length)) out = out.split(secret).join('[redacted]');
    return out.replace(JWT, '[redacted]');
  };
}

/** An unexpected error as a log field (`error`, not pino's `err`): type, message and stack, scrubbed. */
export function errorField(err: unknown, scrub: Scrubber, ctx?: Context): { type: string; message: string; stack?: string } {
  const error = err instanceof Error ? err : new Error(String(err));
  return {
    type: error.name,
    message: scrub(error.message, ctx),
    ...(error.stack === undefined ? {} : { stack: scrub(error.stack, ctx) }),
  };
}
