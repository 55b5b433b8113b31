import { spawn, type ChildProcess } from 'node:child_process';
import { main } from '../../server/cli.js';

/** A line of the server's JSON log. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A JSON log arriving in chunks: its complete lines, and a way to wait for one. */
export interface LogWatch {
  /** Everything written so far, as text. */
  text(): string;
  /** The complete lines written so far. */
  lines(): LogLine[];
  /** Resolves with the first line (from index `from` on) that matches; rejects if the server ends first. */
  waitFor(match: (line: LogLine) => boolean, from?: number): Promise<LogLine>;
}

function logWatch(ended: Promise<unknown>): LogWatch & { write(chunk: string): void } {
  let text = '';
  const waiters = new Set<() => void>();
  const lines = (): LogLine[] =>
    text
      .split('\n')
      .slice(0, -1) // the last piece is an incomplete line (or empty)
      .map((l) => JSON.parse(l) as LogLine);
  return {
    write(chunk) {
      text += chunk;
      for (const wake of waiters) wake();
    },
    text: () => text,
    lines,
    waitFor: (match, from = 0) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = lines().slice(from).find(match);
          if (found) {
            waiters.delete(check);
            resolve(found);
          }
        };
        waiters.add(check);
        void ended.then((code) => {
          if (waiters.delete(check)) reject(new Error(`serve ended (${String(code)}) while waiting:\n${text}`));
        });
        check();
      }),
  };
}

/** `bin/tokensmith.js serve` in a child process, as an operator runs it. */
export interface ServeChild extends LogWatch {
  readonly child: ChildProcess;
  readonly url: string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/** Starts the server on a free port and resolves once it listens. */
export async function serveChild(args: readonly string[], env: Record<string, string> = {}): Promise<ServeChild> {
  const child = spawn(process.execPath, ['bin/tokensmith.js', 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const log = logWatch(exited);
  child.stderr?.on('data', (d: Buffer) => log.write(d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    void exited.then((code) => reject(new Error(`serve exited ${code} before listening:\n${log.text()}`)));
  });
  return { ...log, child, url, exited };
}

/** `serve` run in this process through `main`, its log captured; `stop()` aborts it and resolves with the exit code. */
export interface ServeInProcess extends LogWatch {
  readonly url: string;
  stop(): Promise<number>;
}

export async function serveInProcess(args: readonly string[], env: Record<string, string | undefined>): Promise<ServeInProcess> {
  const abort = new AbortController();
  let listening: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => (listening = resolve));
  let ended: (code: number) => void = () => {};
  const log = logWatch(new Promise<number>((resolve) => (ended = resolve)));
  const io = {
    out: (text: string) => listening(/listening on (\S+)/.exec(text)?.[1] ?? ''),
    err: (text: string) => log.write(`${text}\n`),
    env,
    log: { write: (line: string) => log.write(line) },
  };
  const served = main(['serve', '--port', '0', ...args], io, abort.signal).then((code) => {
    ended(code);
    return code;
  });
  return {
    ...log,
    url: await Promise.race([url, served.then((code) => Promise.reject(new Error(`serve ended (${code}) before listening:\n${log.text()}`)))]),
    stop() {
      abort.abort();
      return served;
    },
  };
}
