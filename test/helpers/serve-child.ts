import { spawn, type ChildProcess } from 'node:child_process';

/** A line of the server's JSON log. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** `bin/tokensmith.js serve` in a child process, as an operator runs it. */
export interface ServeChild {
  readonly child: ChildProcess;
  readonly url: string;
  /** The complete JSON log lines written so far. */
  lines(): LogLine[];
  /** Resolves with the first log line (from `from` on) that matches; rejects if the process exits first. */
  waitFor(match: (line: LogLine) => boolean, from?: number): Promise<LogLine>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/** Starts the server on a free port and resolves once it listens. */
export async function serveChild(args: readonly string[], env: Record<string, string> = {}): Promise<ServeChild> {
  const child = spawn(process.execPath, ['bin/tokensmith.js', 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = (): LogLine[] =>
    stderr
      .split('\n')
      .slice(0, -1) // the last piece is an incomplete line (or empty)
      .map((l) => JSON.parse(l) as LogLine);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    void exited.then((code) => reject(new Error(`serve exited ${code} before listening:\n${stderr}`)));
  });
  const waitFor = (match: (line: LogLine) => boolean, from = 0): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = lines().slice(from).find(match);
        if (found) {
          waiters.delete(check);
          resolve(found);
        }
      };
      waiters.add(check);
      void exited.then((code) => {
        if (waiters.delete(check)) reject(new Error(`serve exited ${code} while waiting:\n${stderr}`));
      });
      check();
    });
  return { child, url, lines, waitFor, exited };
}
