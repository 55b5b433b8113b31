import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { get } from 'node:http';
import { main } from '../../server/cli.js';
import { restartDelay, workerCount } from '../../server/workers.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { serveChild, type LogLine, type ServeChild } from '../helpers/serve-child.js';

const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: 'workers-appkey-0123456789', EMALIDATE_SECRET: 'workers-secret-phrase-of-a-fair-length-0123' };
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
const ISSUE = `/apps/token.asp?${q({ CID: '42', AppKey: ENV.ELECTA_APPKEY, Result: 'csv' })}`;
const session = (guid: string) => `/apps/session.asp?${q({ CID: '42', Token: guid, Result: 'csv' })}`;

/** One GET on a connection of its own: the cluster hands each new connection to the next worker. */
function fresh(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

const isRequestLine = (line: LogLine) => line.msg === 'token request';

/** A token request, and the pid of the worker that served it (from its log line). */
async function served(server: ServeChild, path: string): Promise<{ body: string; pid: number }> {
  const from = server.lines().length;
  const { body } = await fresh(`${server.url}${path}`);
  const line = await server.waitFor(isRequestLine, from);
  return { body, pid: line['pid'] as number };
}

describe('serve --workers', function () {
  this.timeout(120_000);

  describe('workerCount', () => {
    it('reads a number, auto as the cores, and refuses the rest', () => {
      expect(workerCount(undefined, 8)).to.equal(1);
      expect(workerCount('3', 8)).to.equal(3);
      expect(workerCount('auto', 6)).to.equal(6);
      for (const bad of ['0', '-1', '1.5', 'two', '257']) {
        expect(() => workerCount(bad, 2)).to.throw(`--workers takes a number from 1 to 256 or auto, got "${bad}"`);
      }
    });
  });

  describe('restartDelay', () => {
    it('doubles from 100 ms with each crash in a row, up to 30 s', () => {
      expect([1, 2, 3, 4, 9, 10, 50].map(restartDelay)).to.deep.equal([100, 200, 400, 800, 25_600, 30_000, 30_000]);
    });
  });

  describe('with the memory store', () => {
    it('is refused without --memory-per-worker, before any worker starts', async () => {
      const err: string[] = [];
      const code = await main(['serve', '--workers', '2', '--port', '0', '--policies', 'policies/emalidate.yaml'], { out: () => {}, err: (t) => err.push(t), env: {} });
      expect(code).to.equal(2);
      expect(err[0]).to.equal(
        'tokensmith: the memory store keeps sessions and lockout counts inside one process: with --workers 2 each worker would have its own, ' +
          'and a token issued by one worker would be unknown to the next; use --store redis://HOST:PORT/DB, or --memory-per-worker if every policy keeps no state',
      );
    });

    it('is refused with --memory-per-worker for a policy that keeps state, said once', async () => {
      const child = spawn(process.execPath, ['bin/tokensmith.js', 'serve', '--port', '0', '--workers', '2', '--memory-per-worker', '--policies', 'policies/electa.yaml'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env['PATH'] ?? '', ...ENV },
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).to.equal(1);
      const refusals = err.split('\n').filter((l) => l.startsWith('tokensmith: --memory-per-worker'));
      expect(refusals).to.deep.equal([
        'tokensmith: --memory-per-worker serves only policies that keep no state; ' +
          'policy electa: style electa keeps its tokens in the store, so a token issued by one worker would be unknown to the others; ' +
          'policy electa: the lockout rule keeps state in the store, which each worker would keep apart; ' +
          'use --store redis://HOST:PORT/DB so that the workers share one store',
      ]);
    });

    it('is refused with --memory-per-worker when revocation is on (its deny list would be per worker)', async () => {
      const child = spawn(process.execPath, ['bin/tokensmith.js', 'serve', '--port', '0', '--workers', '2', '--memory-per-worker', '--policies', 'policies/emalidate.yaml'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env['PATH'] ?? '', ...ENV, TOKENSMITH_ADMIN_SECRET: 'workers-admin-secret-0123456789' },
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).to.equal(1);
      expect(err.split('\n').filter((l) => l.startsWith('tokensmith: '))).to.deep.equal([
        'tokensmith: --memory-per-worker: an admin credential (TOKENSMITH_ADMIN_SECRET or --admin-credentials) enables POST /revoke, whose deny list each worker would keep apart ' +
          '(a token revoked through one worker would stay valid on the others); use --store redis://HOST:PORT/DB so that the workers share one store',
      ]);
      expect(err).to.not.include('workers-admin-secret-0123456789');
    });

    it('serves self-contained tokens with --memory-per-worker: one worker verifies what the other issued', async () => {
      const server = await serveChild(['--workers', '2', '--memory-per-worker', '--policies', 'policies/emalidate.yaml', '--log-format', 'json'], ENV);
      try {
        const post = async () => (await (await fetch(`${server.url}/emalidate/token`, { method: 'POST' })).json()) as { token: string };
        const { token } = await post();
        const pids = new Set<number>();
        const outcomes = new Set<unknown>();
        for (let i = 0; i < 10 && pids.size < 2; i++) {
          const from = server.lines().length;
          await new Promise<void>((resolve, reject) => {
            get(`${server.url}/emalidate/demo`, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => res.resume().on('end', resolve)).on('error', reject);
          });
          const line = await server.waitFor(isRequestLine, from);
          pids.add(line['pid'] as number);
          outcomes.add(line['outcome']);
        }
        expect(pids.size).to.equal(2);
        expect([...outcomes]).to.deep.equal(['ok']);
      } finally {
        server.child.kill('SIGTERM');
        expect(await server.exited).to.equal(0);
      }
    });
  });

  // One server for the steps below, in order (each start forks three processes on a 2-core machine).
  describe('on a shared Redis (real processes, real redis-server)', () => {
    let redis: RedisServer;
    let server: ServeChild;

    before(async () => {
      redis = await startRedis();
      server = await serveChild(['--workers', '2', '--store', redis.url, '--policies', 'policies/electa.yaml', '--log-format', 'json'], ENV);
    });
    after(async () => {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGKILL');
        await server.exited;
      }
      await redis.dispose();
    });

    it('says it listens once, for both workers', async () => {
      // The primary's lines come in batches, after the one on stdout that serveChild waits for.
      await server.waitFor((l) => l['pid'] === server.child.pid && l.msg === 'tokensmith listening');
      expect(server.lines().filter((l) => l['pid'] === server.child.pid && l.msg === 'tokensmith listening')).to.have.length(1);
      expect(server.lines().filter((l) => l.msg === 'worker listening')).to.have.length(2);
    });

    it('answers from both workers, and one verifies the session the other issued', async () => {
      const issuedBy = new Map<number, string>();
      for (let i = 0; i < 10 && issuedBy.size < 2; i++) {
        const { body, pid } = await served(server, ISSUE);
        expect(body).to.match(/^0,[0-9A-F-]{36}$/);
        issuedBy.set(pid, body.slice(2));
      }
      expect(issuedBy.size).to.equal(2);
      expect(server.child.pid).to.not.be.oneOf([...issuedBy.keys()]);
      for (const [issuer, guid] of issuedBy) {
        let checked = false;
        for (let i = 0; i < 10 && !checked; i++) {
          const { body, pid } = await served(server, session(guid));
          if (pid === issuer) continue;
          expect(JSON.parse(body)).to.include({ ok: true, policy: 'electa' });
          checked = true;
        }
        expect(checked, `a session issued by ${issuer} was verified by the other worker`).to.equal(true);
      }
    });

    it('shows the counts of both workers in /metrics', async () => {
      for (let i = 0; i < 4; i++) await served(server, ISSUE);
      const issued = server.lines().filter((l) => isRequestLine(l) && l['kind'] === 'issue' && l['outcome'] === 'ok');
      expect(new Set(issued.map((l) => l['pid'])).size).to.equal(2);
      // Each scrape lands on either worker: both must show the sum.
      for (let i = 0; i < 4; i++) {
        const { status, body } = await fresh(`${server.url}/metrics`);
        expect(status).to.equal(200);
        expect(body).to.include(`tokensmith_tokens_issued_total{policy="electa"} ${issued.length}\n`);
        expect(body).to.include('tokensmith_policies 1\n');
        expect(body).to.include('tokensmith_workers 2\n');
      }
    });

    it('answers 503 ERR_METRICS_UNAVAILABLE, not one worker\'s counts, while a worker cannot answer', async () => {
      const { pid: stopped } = await served(server, ISSUE);
      process.kill(stopped, 'SIGSTOP');
      // A connection handed to the stopped worker waits for it; the other worker answers the other one.
      const scrapes = [fresh(`${server.url}/metrics`), fresh(`${server.url}/metrics`)];
      try {
        const first = await Promise.race(scrapes);
        expect(first.status).to.equal(503);
        expect(JSON.parse(first.body)).to.deep.equal({ error: 'ERR_METRICS_UNAVAILABLE', error_description: 'the workers did not all report their metrics' });
      } finally {
        process.kill(stopped, 'SIGCONT');
        await Promise.allSettled(scrapes);
      }
    });

    it('reloads every worker on SIGHUP and logs how each did', async () => {
      const from = server.lines().length;
      server.child.kill('SIGHUP');
      const summary = await server.waitFor((l) => l.msg === 'policies reloaded in every worker (2)', from);
      const workers = summary['workers'] as { workerPid: number; ok: boolean }[];
      expect(workers.map((w) => w.ok)).to.deep.equal([true, true]);
      expect(new Set(workers.map((w) => w.workerPid)).size).to.equal(2);
      for (const { workerPid } of workers) await server.waitFor((l) => l.msg === 'policies reloaded' && l['pid'] === workerPid, from);
    });

    it('starts a killed worker again, and the new one serves', async () => {
      const { pid: victim } = await served(server, ISSUE);
      const from = server.lines().length;
      process.kill(victim, 'SIGKILL');
      const crash = await server.waitFor((l) => l['workerPid'] === victim && l['signal'] === 'SIGKILL', from);
      expect(crash.msg).to.equal(`worker ${victim} ended unasked; starting another in 100 ms`);
      const started = await server.waitFor((l) => l.msg === 'worker listening', from);
      const replacement = started['workerPid'] as number;
      expect(replacement).to.not.equal(victim);
      const pids = new Set<number>();
      for (let i = 0; i < 10 && !pids.has(replacement); i++) {
        const { body, pid } = await served(server, ISSUE);
        expect(body).to.match(/^0,/);
        pids.add(pid);
      }
      expect(pids).to.include(replacement);
      expect(pids).to.not.include(victim);
    });

    it('drains every worker on SIGTERM and exits 0', async () => {
      server.child.kill('SIGTERM');
      expect(await server.exited).to.equal(0);
      const stopped = server.lines().filter((l) => l.msg === 'tokensmith stopped');
      expect(stopped.map((l) => l['exitCode'])).to.deep.equal([0, 0]);
      expect(server.lines().at(-1)?.msg).to.equal('tokensmith stopped: every worker stopped cleanly');
    });
  });
});
