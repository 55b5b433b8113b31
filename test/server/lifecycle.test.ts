import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { createServer } from 'node:http';
import Koa from 'koa';
import { drainable, settling } from '../../server/lifecycle.js';
import { serveChild } from '../helpers/serve-child.js';

const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: 'LIFECYCLE-APPKEY-0123456789' };
const BODY = `CID=42&AppKey=${ENV.ELECTA_APPKEY}&Result=csv`;

/**
 * Starts a POST whose body is still being sent. `Expect: 100-continue` makes the server answer
 * `100 Continue` once it has the request: from then on the request is in flight.
 */
async function slowPost(url: string, path: string): Promise<{ socket: Socket; reply: () => string; finish(): Promise<string> }> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  await once(socket, 'connect');
  let reply = '';
  socket.on('data', (d: Buffer) => (reply += d.toString()));
  socket.on('error', () => {}); // a cut connection is what some tests expect
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${BODY.length}\r\nExpect: 100-continue\r\n\r\n`,
  );
  while (!reply.includes('100 Continue')) await once(socket, 'data');
  socket.write(BODY.slice(0, 8));
  return {
    socket,
    reply: () => reply,
    async finish() {
      const closed = once(socket, 'close');
      socket.write(BODY.slice(8));
      await closed;
      return reply;
    },
  };
}

const refused = (url: string) =>
  fetch(`${url}/healthz`).then(
    () => 'answered',
    (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
  );

describe('graceful shutdown', () => {
  describe('settling', () => {
    /** A handler that finishes when the test says so, as a cut request's handler finishes when its store call fails. */
    const held = () => {
      const release: (() => void)[] = [];
      const requests = settling(() => new Promise<void>((resolve) => release.push(resolve)));
      const start = () => requests.handler({} as never, {} as never);
      return { requests, start, release: () => release.shift()?.() };
    };

    it('resolves with 0 once every running handler has finished, not before', async () => {
      const { requests, start, release } = held();
      start();
      start();
      expect(requests.running).to.equal(2);
      let left: number | undefined;
      const settled = requests.settled(10_000).then((n) => (left = n));
      release();
      await new Promise((resolve) => setImmediate(resolve));
      expect(left).to.equal(undefined);
      release();
      expect(await settled).to.equal(0);
      expect(requests.running).to.equal(0);
    });

    it('gives up after the timeout and says how many still run', async () => {
      const { requests, start, release } = held();
      start();
      expect(await requests.settled(20)).to.equal(1);
      release();
      expect(await requests.settled(20)).to.equal(0);
    });
  });

  describe('drainable(server).drain (in-process)', () => {
    it('stops accepting, finishes the request in flight with Connection: close, then resolves with nothing cut', async () => {
      let release: () => void = () => {};
      let entered: () => void = () => {};
      const inHandler = new Promise<void>((resolve) => (entered = resolve));
      const app = new Koa();
      app.use(async (ctx) => {
        entered();
        await new Promise<void>((resolve) => (release = resolve));
        ctx.body = 'finished';
      });
      const server = createServer(app.callback()).listen(0, '127.0.0.1');
      const lifecycle = drainable(server);
      await once(server, 'listening');
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const pending = fetch(`${url}/slow`);
      await inHandler;
      expect(lifecycle.inFlight).to.equal(1);
      const drained = lifecycle.drain(10_000);
      expect(await refused(url)).to.equal('ECONNREFUSED');
      release();
      const res = await pending;
      expect(res.headers.get('connection')).to.equal('close');
      expect(await res.text()).to.equal('finished');
      expect(await drained).to.deep.equal({ cut: 0 });
      expect(lifecycle.inFlight).to.equal(0);
    });

    it('cuts what still runs when the grace period is over, and says how many', async () => {
      const app = new Koa();
      let entered: () => void = () => {};
      const inHandler = new Promise<void>((resolve) => (entered = resolve));
      app.use(async () => {
        entered();
        await new Promise(() => {}); // never finishes
      });
      const server = createServer(app.callback()).listen(0, '127.0.0.1');
      const lifecycle = drainable(server);
      await once(server, 'listening');
      const pending = fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/`).then(
        () => 'answered',
        () => 'cut',
      );
      await inHandler;
      expect(await lifecycle.drain(20)).to.deep.equal({ cut: 1 });
      expect(await pending).to.equal('cut');
    });
  });

  describe('tokensmith serve (a real child process)', () => {
    it('on SIGTERM stops accepting, finishes a request whose body is still arriving, closes the store and exits 0', async () => {
      const server = await serveChild(['--policies', 'policies/electa.yaml', '--grace', '30s'], ENV);
      const slow = await slowPost(server.url, '/apps/token.asp');
      server.child.kill('SIGTERM');
      const stopping = await server.waitFor((l) => l.msg.startsWith('shutting down'));
      expect(stopping).to.deep.include({ signal: 'SIGTERM', inFlight: 1, graceMs: 30_000 });
      expect(await refused(server.url)).to.equal('ECONNREFUSED');
      const reply = await slow.finish();
      expect(reply).to.match(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
      expect(reply).to.match(/\r\nConnection: close\r\n/i);
      expect(reply).to.match(/\r\n\r\n0,[0-9A-F-]{36}$/);
      expect(await server.exited).to.equal(0);
      const lines = server.lines();
      const served = lines.findIndex((l) => l.msg === 'token request' && l['outcome'] === 'ok');
      const stopped = lines.findIndex((l) => l.msg === 'tokensmith stopped');
      expect(served).to.be.greaterThan(lines.indexOf(stopping));
      expect(stopped).to.be.greaterThan(served);
      expect(lines[stopped]).to.deep.include({ cut: 0, store: 'closed', exitCode: 0 });
    });

    it('after the grace period cuts the connections still busy and exits 1', async () => {
      const server = await serveChild(['--policies', 'policies/electa.yaml', '--grace', '300ms'], ENV);
      const slow = await slowPost(server.url, '/apps/token.asp');
      const closed = once(slow.socket, 'close');
      server.child.kill('SIGTERM');
      expect(await server.exited).to.equal(1);
      await closed;
      expect(slow.reply()).to.equal('HTTP/1.1 100 Continue\r\n\r\n');
      const lines = server.lines();
      const over = lines.findIndex((l) => l.msg.startsWith('grace period over'));
      expect(lines[over]).to.deep.include({ cut: 1, graceMs: 300 });
      // The cut request's handler runs on until its body read fails; its line comes before "stopped", which is the last.
      const cutLine = lines.findIndex((l) => l.msg === 'token request');
      expect(lines[cutLine]).to.deep.include({ kind: 'issue', policy: 'electa', outcome: 'ERR_BODY_INVALID' });
      expect(cutLine).to.be.greaterThan(over);
      expect(lines.at(-1)).to.deep.include({ msg: 'tokensmith stopped', cut: 1, store: 'closed', exitCode: 1 });
    });

    it('stops at once on a second SIGINT/SIGTERM', async () => {
      const server = await serveChild(['--policies', 'policies/electa.yaml', '--grace', '10m'], ENV);
      await slowPost(server.url, '/apps/token.asp');
      server.child.kill('SIGINT');
      await server.waitFor((l) => l.msg.startsWith('shutting down'));
      server.child.kill('SIGTERM');
      expect(await server.exited).to.equal(1);
      expect(server.lines().find((l) => l.msg.startsWith('second stop signal'))).to.deep.include({ signal: 'SIGTERM', inFlight: 1 });
    });

    it('refuses a --grace that is not a duration', async () => {
      const { main } = await import('../../server/cli.js');
      const err: string[] = [];
      const code = await main(['serve', '--grace', 'soon'], { out: () => {}, err: (t) => void err.push(t), env: {} });
      expect(code).to.equal(2);
      expect(err[0]?.split('\n')[0]).to.equal('tokensmith: --grace takes a duration such as 10s or 500ms, got "soon"');
    });
  });
});
