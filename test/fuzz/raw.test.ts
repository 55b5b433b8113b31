import { expect } from 'chai';
import fc from 'fast-check';
import { connect } from 'node:net';
import { createApp } from '../../server/app.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { listen } from '../helpers/http.js';
import type { FuzzReply } from './client.js';
import { problemWith } from './oracle.js';
import { assertSeeded } from './seed.js';

const RUNS = Number(process.env['FUZZ_RAW_RUNS'] ?? 1000);

/** Bytes no HTTP client library would send: control characters, DEL, bare CR or LF, bytes above 0x7F. */
const RAW = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.constant(0x7f), fc.integer({ min: 0x80, max: 0xff })).map((b) => String.fromCharCode(b));

/** Writes `bytes` on a fresh connection and reads everything until the server closes it (or 5 s pass). */
function exchange(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(5_000, () => socket.destroy(new Error('no reply within 5 s')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (err) => (chunks.length ? resolve(Buffer.concat(chunks).toString('latin1')) : reject(err)));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.end(bytes);
  });
}

/** The status, headers and (Content-Length or whole) body of a raw HTTP/1.1 reply. */
function parseReply(raw: string): FuzzReply | undefined {
  const match = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(raw);
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of (match[2] as string).split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  const body = Buffer.from(match[3] as string, 'latin1').subarray(0, length).toString('utf8');
  return { status: Number(match[1]), headers, body };
}

/**
 * Requests with raw control characters where clients never put them — in the method, the path,
 * the query, a header name or value — written byte by byte on a socket to the routes of the
 * example policies. Node's parser refuses most with its own 400; whatever reaches the app must
 * get a well-formed reply, never a 5xx or a stack, and the connection always gets an answer.
 */
describe('fuzz: raw control characters in the request line and headers (fast-check, over a socket)', function () {
  this.timeout(120_000);
  let booted: Booted;
  let http: Awaited<ReturnType<typeof listen>>;
  let port: number;
  const errorLines: string[] = [];
  const logger = { info() {}, warn() {}, error: (line: object, msg?: string) => void errorLines.push(`${msg ?? ''} ${JSON.stringify(line).slice(0, 300)}`) };

  before(async () => {
    booted = await boot({ policies: ['policies'], store: 'memory', env: {} });
    http = await listen(createApp({ engine: booted.engine, logger, trustedProxies: ['127.0.0.1'] }));
    port = Number(new URL(http.url).port);
  });
  after(async () => {
    await http.close();
    await booted.store.close();
  });

  it(`answers ${RUNS} requests with control characters, never with a 5xx, a stack or a malformed reply`, async () => {
    const paths = booted.engine.policies.flatMap((p) => [...p.routes, ...p.protectedRoutes].map((r) => r.path));
    expect(paths.length).to.be.greaterThan(5);
    const parts = fc.record({
      method: fc.constantFrom('GET', 'POST', 'TRACE'),
      path: fc.constantFrom(...paths),
      query: fc.constantFrom('', '?CID=123456&AppKey=x&Result=csv', '?L=x&IP=fe80::1%25eth0', '?XSC=c&XST=abc', '?id=T:x'),
      header: fc.constantFrom('X-Forwarded-For: fe80::1%eth0', 'Authorization: Bearer a.b.c', 'Content-Type: application/x-www-form-urlencoded'),
      body: fc.constantFrom('', 'function=gettoken', 'CID=1&AppKey=2'),
    });
    const where = fc.constantFrom('method', 'path', 'query', 'header name', 'header value', 'body');
    await assertSeeded(
      fc.asyncProperty(parts, where, fc.array(RAW, { minLength: 1, maxLength: 3 }), fc.nat(), async (p, at, raws, offset) => {
        const put = (text: string, name: string) => (at === name ? `${text.slice(0, offset % (text.length + 1))}${raws.join('')}${text.slice(offset % (text.length + 1))}` : text);
        const [name, value] = p.header.split(': ') as [string, string];
        const body = put(p.body, 'body');
        const head = `${put(p.method, 'method')} ${put(p.path, 'path')}${put(p.query, 'query')} HTTP/1.1\r\nHost: 127.0.0.1\r\n${put(name, 'header name')}: ${put(value, 'header value')}\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\nConnection: close\r\n\r\n`;
        const raw = await exchange(port, Buffer.from(head + body, 'latin1'));
        const reply = parseReply(raw);
        if (reply === undefined) throw new Error(`not an HTTP reply: ${JSON.stringify(raw.slice(0, 200))}`);
        const problem = await problemWith({ method: p.method, path: p.path, headers: {} }, reply);
        if (problem !== undefined) throw new Error(`${JSON.stringify(head.slice(0, 200))}: ${problem}; reply ${reply.status} ${reply.body.slice(0, 200)}`);
        if (errorLines.length) throw new Error(`error lines in the log: ${errorLines.splice(0).join('\n')}`);
      }),
      { numRuns: RUNS },
      { file: 'dist/test/fuzz/raw.test.js', grep: 'raw control characters' },
    );
  });
});
