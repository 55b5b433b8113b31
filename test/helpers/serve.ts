import { spawn } from 'node:child_process';

/** A `tokensmith serve` process (through `bin/tokensmith.js`, as a user runs it) on a loopback port. */
export interface ServeProcess {
  readonly url: string;
  /** Everything the process wrote to stderr so far (its logs and warnings). */
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `tokensmith serve --host 127.0.0.1 --port 0 …args` with `env` added to this process's
 * environment, and resolves once it says where it listens (or rejects after `timeoutMs`).
 */
export async function serveProcess(args: readonly string[], env: Record<string, string>, timeoutMs = 15_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['bin/tokensmith.js', 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tokensmith serve did not listen within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`tokensmith serve exited ${code}:\n${stderr}`));
      });
    });
    return {
      url,
      stderr: () => stderr,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        return exited;
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}
