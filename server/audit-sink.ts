import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pino, type DestinationStream } from 'pino';
import type { Logger } from '../core/ports.js';

/** Where audit lines go. `write` takes one whole line and never waits. */
export interface AuditSink {
  write(line: string): void;
  /** Writes what is still held, then lets go of the destination. */
  close(): Promise<void>;
  /** Opens the file again, after log rotation moved it away. */
  reopen?(): void;
}

/**
 * How much an audit file may hold back while the disk is slower than the events: past it a line
 * is dropped (and counted in a warning) rather than the process growing without end. 16 MiB is
 * some 50,000 lines, minutes of a busy server.
 */
export const AUDIT_BUFFER_BYTES = 16 * 1024 * 1024;
/** At most one warning about dropped or failed audit lines this often. */
const WARN_EVERY_MS = 60_000;

/**
 * An audit file, appended to by pino's sonic-boom destination: each line is added to one buffer
 * that a single asynchronous `write(2)` at a time drains, so lines never interleave and a request
 * never waits for the disk. The file is created with mode 0600 (with its folder if missing).
 * Resolves once the file is open; rejects with the reason it cannot be.
 *
 * @example const sink = await auditFile('/var/log/tokensmith/audit.log', logger);
 */
export async function auditFile(path: string, logger: Logger, maxBuffer = AUDIT_BUFFER_BYTES): Promise<AuditSink> {
  // Opened once here first, so that a path that cannot be written is said at start; pino's
  // destination would report it later, and leave an exit hook behind that throws.
  await mkdir(dirname(path), { recursive: true });
  await (await open(path, 'a', 0o600)).close();
  const sonic = pino.destination({ dest: path, sync: false, append: true, mode: 0o600, minLength: 0, maxLength: maxBuffer });
  await once(sonic, 'ready');
  const trouble = troubleReporter(logger);
  sonic.on('drop', () => trouble('dropped'));
  sonic.on('error', (err: NodeJS.ErrnoException) => trouble('failed', err.code));
  // A reopen waits for the write in flight; ending the stream before it is done would abandon
  // the reopen and never close, so `close` waits for it first.
  let reopened: Promise<unknown> = Promise.resolve();
  return {
    write: (line) => void sonic.write(line),
    reopen: () => {
      reopened = once(sonic, 'ready').catch(() => undefined);
      sonic.reopen();
    },
    close: async () => {
      await reopened;
      const closed = once(sonic, 'close');
      sonic.end();
      await closed;
    },
  };
}

/**
 * Audit lines into a destination shared with the log (stderr in `serve`, so that audit lines and
 * log lines go through one buffer and never cut into each other), or any stream with `write(line)`.
 */
export function auditStream(destination: DestinationStream): AuditSink {
  return {
    write: (line) => void destination.write(line),
    close: () => {
      const flush = (destination as { flush?: (cb: (err?: Error) => void) => void }).flush;
      return typeof flush === 'function' ? new Promise<void>((resolve) => flush.call(destination, () => resolve())) : Promise.resolve();
    },
  };
}

/** Says, at most once a minute, how many audit lines were dropped or failed since the last time. */
function troubleReporter(logger: Logger): (what: 'dropped' | 'failed', code?: string) => void {
  let dropped = 0;
  let failed = 0;
  let last = -Infinity;
  return (what, code) => {
    if (what === 'dropped') dropped++;
    else failed++;
    const now = Date.now();
    if (now - last < WARN_EVERY_MS) return;
    last = now;
    logger.error(
      { warning: 'audit', dropped, failed, ...(code === undefined ? {} : { code }) },
      what === 'dropped' ? 'audit lines dropped: the audit file is written slower than events arrive' : 'the audit file could not be written',
    );
    dropped = 0;
    failed = 0;
  };
}

/** The shortest `TOKENSMITH_AUDIT_KEY` accepted. */
export const MIN_AUDIT_KEY = 16;

/**
 * The audit HMAC key: `TOKENSMITH_AUDIT_KEY` when set (`serve` refuses one shorter than
 * {@link MIN_AUDIT_KEY}), else a random key for this process only, with a warning: its hashes
 * then match nothing after a restart or on another host.
 */
export function auditKey(env: Readonly<Record<string, string | undefined>>, logger: Logger): Buffer {
  const given = env['TOKENSMITH_AUDIT_KEY'];
  if (given !== undefined && given !== '') return Buffer.from(given, 'utf8');
  logger.warn(
    { warning: 'audit-key' },
    'TOKENSMITH_AUDIT_KEY is not set: the audit trail hashes token ids with a random key of this process; set it to match them across restarts and hosts',
  );
  return randomBytes(32);
}
