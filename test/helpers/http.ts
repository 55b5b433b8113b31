import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type Koa from 'koa';

/** A Koa app listening on a free loopback port; `close()` when done. */
export async function listen(app: Koa): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(app.callback());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const form = (params: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(params).toString(),
});

/** Resolves with the URL a child process prints as `… listening on URL`; rejects if it exits first. */
export function listeningUrl(child: import('node:child_process').ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before listening:\n${out}`)));
  });
}
