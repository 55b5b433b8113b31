import { expect } from 'chai';
import { connect } from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp } from '../../server/app.js';
import { createLogger } from '../../server/logging.js';
import { Metrics } from '../../server/metrics.js';
import { reloader, type Reloader } from '../../server/reload.js';
import { listen } from '../helpers/http.js';
import { parseMetrics, sampleValue } from '../helpers/prometheus.js';
import { serveChild, serveInProcess } from '../helpers/serve-child.js';

const EMALIDATE = readFileSync('policies/emalidate.yaml', 'utf8');
const ELECTA = readFileSync('policies/electa.yaml', 'utf8');
/** The example emalidate policy with another default lifetime. */
const emalidateWithTtl = (ttl: string) => EMALIDATE.replace('ttl: { default: 300s,', `ttl: { default: ${ttl},`);
/** Line 3 of this file is an unknown key. */
const BROKEN = 'id: emalidate\nstyle: emalidate\ntll: 5m\nemalidate:\n  issuer: x\n  subject: u\n  keys: [{ kid: k, secret: "${env:EMALIDATE_SECRET}" }]\n';
const ENV = {
  EMALIDATE_SECRET: 'reload-test-secret-0123456789abcdef',
  ELECTA_CID: '42',
  ELECTA_APPKEY: 'RELOAD-APPKEY-OLD-0123456789',
  ELECTA_APPKEY_NEW: 'RELOAD-APPKEY-NEW-0123456789',
};

interface Logged {
  msg: string;
  reason?: string;
  issues?: string[];
  kept?: string[];
  policies?: string[];
}

describe('policy reload', () => {
  let dir: string;
  let booted: Booted;
  let http: Awaited<ReturnType<typeof listen>>;
  let logged: string[];
  let metrics: Metrics;
  let reload: Reloader['reload'];

  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  const expiresIn = async (): Promise<number> => {
    const res = await fetch(`${http.url}/emalidate/token`, { method: 'POST' });
    expect(res.status).to.equal(200);
    return ((await res.json()) as { expires_in: number }).expires_in;
  };
  const lines = () => logged.map((l) => JSON.parse(l) as Logged);
  const lastReload = () => lines().filter((l) => l.msg !== 'token request').at(-1);
  /** The unknown-key issue of BROKEN (the message goes on with the allowed keys). */
  const unknownKey = (file: string) => new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:1: /tll: unknown key "tll"`);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ts-reload-'));
    write('emalidate.yaml', emalidateWithTtl('300s'));
    booted = await boot({ policies: [dir], store: 'memory', env: ENV });
    logged = [];
    const logger = createLogger({ destination: { write: (line: string) => void logged.push(line) } });
    metrics = new Metrics();
    http = await listen(createApp({ engine: booted.engine, logger, metrics }));
    ({ reload } = reloader(booted, { policies: [dir], env: ENV, logger, metrics }));
  });
  afterEach(async () => {
    await http.close();
    await booted.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('reloader(booted, options).reload', () => {
    it('serves the new policies after a successful reload, and says so in the log and the metrics', async () => {
      expect(await expiresIn()).to.equal(300);
      const generation = booted.engine.generation;
      write('emalidate.yaml', emalidateWithTtl('600s'));
      write('electa.yaml', ELECTA);
      expect(await reload('test')).to.deep.include({ ok: true, policies: ['electa', 'emalidate'] });
      expect(booted.engine.generation).to.equal(generation + 1);
      expect(await expiresIn()).to.equal(600);
      expect((await (await fetch(`${http.url}/apps/token.asp?CID=42&AppKey=${ENV.ELECTA_APPKEY}&Result=csv`)).text()).slice(0, 2)).to.equal('0,');
      expect(lastReload()).to.deep.include({ msg: 'policies reloaded', reason: 'test', policies: ['electa', 'emalidate'] });
      expect(sampleValue(parseMetrics(await metrics.registry.metrics()), 'tokensmith_policy_reloads_total', { outcome: 'ok' })).to.equal(1);
    });

    it('keeps the old set serving when a file is invalid, and logs every issue as file:line:col', async () => {
      write('emalidate.yaml', emalidateWithTtl('600s'));
      await reload('test');
      const generation = booted.engine.generation;
      write('emalidate.yaml', BROKEN);
      write('other.yaml', 'id: other\nstyle: nope\n');
      const result = await reload('test');
      expect(result.ok).to.equal(false);
      expect(booted.engine.generation).to.equal(generation);
      expect(await expiresIn()).to.equal(600);
      const failed = lastReload();
      expect(failed?.msg).to.equal('policy reload failed; the previous policies are still served');
      expect(failed?.kept).to.deep.equal(['emalidate']);
      expect(failed?.issues).to.have.length(2);
      expect(failed?.issues?.[0]).to.match(unknownKey(join(dir, 'emalidate.yaml')));
      expect(failed?.issues?.[1]).to.match(new RegExp(`^${join(dir, 'other.yaml')}:2:8: /style: unknown style "nope"; known styles: `));
      expect(sampleValue(parseMetrics(await metrics.registry.metrics()), 'tokensmith_policy_reloads_total', { outcome: 'failed' })).to.equal(1);
    });

    it('coalesces reloads asked for while one runs into one more', async () => {
      const generation = booted.engine.generation;
      const results = await Promise.all([reload('a'), reload('b'), reload('c'), reload('d'), reload('e')]);
      expect(results.every((r) => r.ok)).to.equal(true);
      expect(booted.engine.generation).to.equal(generation + 2);
    });

    it('lets a request in flight finish on the set it started with, while new requests get the new set', async () => {
      write('electa.yaml', ELECTA);
      await reload('test');
      // A POST whose body is still being sent: the route (and its policy set) is already chosen.
      const socket = connect(Number(new URL(http.url).port), '127.0.0.1');
      await once(socket, 'connect');
      const body = `CID=42&AppKey=${ENV.ELECTA_APPKEY}&Result=csv`;
      socket.write(`POST /apps/token.asp HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`);
      let reply = '';
      socket.on('data', (d: Buffer) => (reply += d.toString()));
      // The new set: another app key for Electa.
      write('electa.yaml', ELECTA.replace('${env:ELECTA_APPKEY:-UO86CN11XY73SF72TT40PG18ZE76VV71}', '${env:ELECTA_APPKEY_NEW}'));
      expect((await reload('test')).ok).to.equal(true);
      const fresh = await (await fetch(`${http.url}/apps/token.asp?CID=42&AppKey=${ENV.ELECTA_APPKEY}&Result=csv`)).text();
      expect(fresh).to.equal('1,Invalid Account or Application Key');
      socket.end(body.slice(10));
      await once(socket, 'close');
      expect(reply).to.match(/\r\n\r\n0,[0-9A-F-]{36}$/);
    });

    it('fails no request while reloading many times, good and bad files alike', async () => {
      const failures: string[] = [];
      let requests = 0;
      let reloading = true;
      const worker = async () => {
        // Bounded in count; stops early once the reloads are done.
        for (let i = 0; i < 150 && (reloading || i < 5); i++) {
          requests++;
          const res = await fetch(`${http.url}/emalidate/token`, { method: 'POST' });
          const { token, expires_in } = (await res.json()) as { token: string; expires_in: number };
          if (res.status !== 200 || ![300, 600].includes(expires_in)) failures.push(`issue ${res.status} ${expires_in}`);
          const demo = await fetch(`${http.url}/emalidate/demo`, { headers: { authorization: `Bearer ${token}` } });
          if (demo.status !== 200) failures.push(`verify ${demo.status} ${await demo.text()}`);
        }
      };
      const reloads = (async () => {
        for (let i = 0; i < 30; i++) {
          write('emalidate.yaml', i % 3 === 2 ? BROKEN : emalidateWithTtl(i % 2 ? '600s' : '300s'));
          const result = await reload(`round ${i}`);
          expect(result.ok).to.equal(i % 3 !== 2);
        }
        reloading = false;
      })();
      await Promise.all([reloads, worker(), worker(), worker(), worker()]);
      expect(failures).to.deep.equal([]);
      expect(requests).to.be.at.least(20);
      write('emalidate.yaml', emalidateWithTtl('900s'));
      expect((await reload('last')).ok).to.equal(true);
      expect(await expiresIn()).to.equal(900);
      write('emalidate.yaml', BROKEN);
      expect((await reload('last, broken')).ok).to.equal(false);
      expect(await expiresIn()).to.equal(900);
    });
  });

  describe('serve --watch (in-process)', () => {
    it('reloads when a policy file changes, and keeps serving on a broken one', async () => {
      const server = await serveInProcess(['--watch', '--policies', dir], ENV);
      try {
        const ttl = async () => ((await (await fetch(`${server.url}/emalidate/token`, { method: 'POST' })).json()) as { expires_in: number }).expires_in;
        expect(await ttl()).to.equal(300);
        let from = server.lines().length;
        write('emalidate.yaml', emalidateWithTtl('600s'));
        expect(await server.waitFor((l) => l.msg === 'policies reloaded', from)).to.deep.include({ reason: 'watch', policies: ['emalidate'] });
        expect(await ttl()).to.equal(600);
        from = server.lines().length;
        write('emalidate.yaml', BROKEN);
        const failed = await server.waitFor((l) => l.msg === 'policy reload failed; the previous policies are still served', from);
        expect(failed['issues']).to.have.length(1);
        expect((failed['issues'] as string[])[0]).to.match(unknownKey(join(dir, 'emalidate.yaml')));
        expect(await ttl()).to.equal(600);
      } finally {
        expect(await server.stop()).to.equal(0);
      }
    });
  });

  describe('SIGHUP (bin/tokensmith.js serve in a child process)', () => {
    it('reloads on SIGHUP; a broken file is reported and the old policies keep serving', async () => {
      const server = await serveChild(['--policies', dir], ENV);
      try {
        const ttl = async () => ((await (await fetch(`${server.url}/emalidate/token`, { method: 'POST' })).json()) as { expires_in: number }).expires_in;
        expect(await ttl()).to.equal(300);
        write('emalidate.yaml', emalidateWithTtl('600s'));
        let from = server.lines().length;
        server.child.kill('SIGHUP');
        expect(await server.waitFor((l) => l.msg === 'policies reloaded', from)).to.deep.include({ reason: 'SIGHUP', policies: ['emalidate'] });
        expect(await ttl()).to.equal(600);
        write('emalidate.yaml', BROKEN);
        from = server.lines().length;
        server.child.kill('SIGHUP');
        const failed = await server.waitFor((l) => l.msg === 'policy reload failed; the previous policies are still served', from);
        expect(failed['issues']).to.have.length(1);
        expect((failed['issues'] as string[])[0]).to.match(unknownKey(join(dir, 'emalidate.yaml')));
        expect(await ttl()).to.equal(600);
      } finally {
        server.child.kill('SIGTERM');
      }
      expect(await server.exited).to.equal(0);
    });
  });
});
