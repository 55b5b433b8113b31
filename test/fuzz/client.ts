import { Agent, request } from 'node:http';

/** One request as the fuzz suite sends it: any method, a raw path (query included), headers and a body. */
export interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

export interface FuzzReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** Keep-alive connections, a few at a time: the suite sends batches side by side. */
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/** Tears down the kept-alive connections (after a suite). */
export function closeClient(): void {
  agent.destroy();
}

/**
 * Sends one request over a real loopback socket. Resolves with the reply, or rejects when the
 * connection ends without one (which the oracle counts as a failure: a caller got no answer).
 */
export function send(base: URL, req: FuzzRequest): Promise<FuzzReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(req.body.length);
    const out = request(
      { host: base.hostname, port: base.port, method: req.method, path: req.path, headers, agent, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    out.on('timeout', () => out.destroy(new Error('no reply within 10 s')));
    out.on('error', reject);
    out.end(req.body);
  });
}
