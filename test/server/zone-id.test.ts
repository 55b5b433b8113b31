import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { ManualClock } from '../../core/clock.js';
import { createApp } from '../../server/app.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { T0 } from '../helpers/boot.js';

const LICENCE = 'melissa-test-licence-0123456789';

/**
 * IPv6 zone ids (`fe80::1%eth0`) from the socket, in `IP=` and in `X-Forwarded-For`: the
 * address keeps its zone, a malformed one is refused, and nothing answers 5xx. Loopback has no
 * link-local address, so the socket case serves real HTTP from 127.0.0.1 and gives the app's
 * request the peer address a link-local client would have (the app reads it from
 * `req.socket.remoteAddress`).
 */
describe('IPv6 zone ids over HTTP (policies/melissa.yaml, 127.0.0.1 a trusted proxy)', () => {
  let booted: Booted;
  let server: Server;
  let url: string;
  let peer: string | undefined;
  const lines: { level: string; line: Record<string, unknown> }[] = [];
  const record = (level: string) => (line: object) => void lines.push({ level, line: line as Record<string, unknown> });
  const logger = { info: record('info'), warn: record('warn'), error: record('error') };

  before(async () => {
    booted = await boot({ policies: ['policies/melissa.yaml'], store: 'memory', env: { MELISSA_LICENSE: LICENCE }, clock: new ManualClock(T0) });
    const handle = createApp({ engine: booted.engine, trustedProxies: ['127.0.0.1'], logger }).callback();
    server = createServer((req, res) => {
      // An own property shadows the socket's getter; deleting it gives the real peer back.
      if (peer === undefined) delete (req.socket as { remoteAddress?: string }).remoteAddress;
      else Object.defineProperty(req.socket, 'remoteAddress', { value: peer, configurable: true });
      void handle(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await booted.store.close();
  });
  beforeEach(() => {
    peer = undefined;
    lines.length = 0;
  });

  const helper = async (headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}/melissa/gettoken`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: 'function=gettoken',
    });
    expect(res.status).to.equal(200);
    return ((await res.json()) as [{ token: string }])[0].token;
  };
  const service = async (token: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}/melissa/demo/ExpressFreeForm?id=${encodeURIComponent(token)}`, { headers });
    expect(res.status).to.be.below(500);
    return (await res.json()) as Record<string, unknown>;
  };

  it('binds a token to a link-local socket peer with its zone, and refuses it on another link (GE13)', async () => {
    peer = 'fe80::1%eth0';
    const token = await helper();
    expect(token).to.match(/^T:/);
    expect(await service(token)).to.include({ ok: true });
    peer = 'fe80::1%eth1';
    expect(await service(token)).to.include({ ResultCode: 'GE13' });
    expect(lines.filter((l) => l.level === 'error')).to.deep.equal([]);
    expect(lines.map((l) => l.line['client'])).to.deep.equal(['fe80::1%eth0', 'fe80::1%eth0', 'fe80::1%eth1']);
  });

  it('accepts IP= with a zone id (normalised), and refuses a malformed zone with TE04', async () => {
    const bound = await (await fetch(`${url}/v3/json/Service.svc/RequestToken?L=${LICENCE}&IP=FE80:0::1%25eth0`)).json() as { Result: string; Token: string };
    expect(bound.Result).to.equal('');
    expect(await service(bound.Token, { 'x-forwarded-for': 'fe80::1%eth0' })).to.include({ ok: true });
    expect(await service(bound.Token, { 'x-forwarded-for': 'fe80::1' })).to.include({ ResultCode: 'GE13' });
    for (const bad of ['fe80::1%25', 'fe80::1%25a%2520b', '::ffff:10.0.0.1%25eth0']) {
      const res = await fetch(`${url}/v3/json/Service.svc/RequestToken?L=${LICENCE}&IP=${bad}`);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ Result: 'TE04', Token: '' });
    }
    expect(lines.filter((l) => l.level === 'error')).to.deep.equal([]);
  });

  it('takes a zoned client address from X-Forwarded-For of a trusted proxy, and stops at a malformed one', async () => {
    const token = await helper({ 'x-forwarded-for': '203.0.113.9, fe80::2%eth0' });
    expect(await service(token, { 'x-forwarded-for': 'fe80::2%eth0' })).to.include({ ok: true });
    const fallback = await helper({ 'x-forwarded-for': 'fe80::2%bad zone' });
    expect(await service(fallback)).to.include({ ok: true }); // bound to the proxy itself, 127.0.0.1
    expect(lines.filter((l) => l.level === 'error')).to.deep.equal([]);
    expect(lines.map((l) => l.line['client'])).to.deep.equal(['fe80::2%eth0', 'fe80::2%eth0', '127.0.0.1', '127.0.0.1']);
  });
});
