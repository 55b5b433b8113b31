import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../server/cli.js';
import { FIXTURE_PLUGIN } from '../helpers/boot.js';
import { listed, registryOf } from '../helpers/names.js';

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('server/cli main', () => {
  describe('check', () => {
    it('passes the example policies, warning loudly about demo defaults', async () => {
      const { code, out, err } = await run(['check', 'policies']);
      expect(code).to.equal(0);
      expect(out).to.equal('ok: 5 policies (electa, emalidate, jwt, melissa, xdoc)');
      expect(err).to.include('WARNING');
      expect(err).to.include('EMALIDATE_SECRET is not set');
      expect(err).to.not.include('demo-secret-do-not-use');
    });
    it('exits 1 with file:line:col messages for a broken file', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ts-cli-'));
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, 'id: bad\nstyle: emalidate\ntll: 5m\nemalidate:\n  issuer: x\n  keys: []\n');
      const { code, err, out } = await run(['check', file]);
      expect(code).to.equal(1);
      expect(out).to.equal('');
      expect(err).to.match(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:1: `, 'm'));
      expect(err.split('\n').length).to.be.greaterThanOrEqual(2);
    });
    it('knows outside plugins given with --plugin', async () => {
      const without = await run(['check', 'test/fixtures/outside-plugin/fixture.yaml']);
      expect(without.code).to.equal(1);
      expect(without.err).to.include(`/style: unknown style "fixture"; known styles: ${listed((await registryOf()).styles.keys())}`);
      const withPlugin = await run(['check', 'test/fixtures/outside-plugin/fixture.yaml', '--plugin', FIXTURE_PLUGIN]);
      expect(withPlugin.code).to.equal(0);
      expect(withPlugin.out).to.equal('ok: 1 policy (fixture)');
    });
  });

  describe('issue and verify', () => {
    it('issues the reply body, and verify prints the claims and exits 0', async () => {
      const issued = await run(['issue', '--policy', 'emalidate']);
      expect(issued.code).to.equal(0);
      const { token } = JSON.parse(issued.out) as { token: string };
      const verified = await run(['verify', '--policy', 'emalidate', token]);
      expect(verified.code).to.equal(0);
      expect(JSON.parse(verified.out)).to.deep.include({ policyId: 'emalidate', subject: 'demo-user' });
    });
    it('verify prints the error code and exits 1 for a bad token', async () => {
      const { code, out } = await run(['verify', '--policy', 'emalidate', 'abc.def.ghi']);
      expect(code).to.equal(1);
      expect(out).to.equal('ERR_TOKEN_MALFORMED');
    });
    it('verify exits 1 with ERR_TOKEN_KID_UNKNOWN for a header kid that is not text, instead of dying', async () => {
      const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      for (const kid of [7, { a: 1 }, null, true]) {
        const { code, out } = await run(['verify', '--policy', 'emalidate', `${part({ alg: 'HS256', kid })}.${part({ sub: 'x' })}.c2ln`]);
        expect(code).to.equal(1);
        expect(out).to.equal('ERR_TOKEN_KID_UNKNOWN');
      }
    });
    it('verify with another secret in the environment refuses our token', async () => {
      const { out } = await run(['issue', '--policy', 'emalidate']);
      const { token } = JSON.parse(out) as { token: string };
      const other = await run(['verify', '--policy', 'emalidate', token], { EMALIDATE_SECRET: 'another-secret-of-sufficient-length-42' });
      expect(other.code).to.equal(1);
      expect(other.out).to.equal('ERR_TOKEN_SIGNATURE');
    });
    it('issue passes --param and --ip to the policy, and prints failures in its reply format', async () => {
      const args = ['--policies', 'test/fixtures/outside-plugin', '--plugin', FIXTURE_PLUGIN, '--policy', 'fixture'];
      const ok = await run(['issue', ...args, '--param', 'client_id=alice', '--param', 'client_secret=alice-secret-0001', '--param', 'format=text']);
      expect(ok.code).to.equal(0);
      expect(ok.out).to.match(/^OK FX-[0-9a-f]{32}$/);
      const bad = await run(['issue', ...args, '--param', 'client_id=alice', '--param', 'client_secret=no', '--param', 'format=text']);
      expect(bad.code).to.equal(1);
      expect(bad.out).to.equal('ERR ERR_CREDENTIAL_INVALID');
    });
    it('issues Melissa and Electa tokens in their reply formats', async () => {
      const env = { MELISSA_LICENSE: 'cli-licence-0123456789', ELECTA_CID: '42', ELECTA_APPKEY: 'cli-appkey-0123456789' };
      const melissa = await run(['issue', '--policy', 'melissa', '--param', 'L=cli-licence-0123456789', '--param', 'P=pkgExpressEntry'], env);
      expect(melissa.code).to.equal(0);
      expect(melissa.out).to.match(/^<RequestTokenResponse><Result><\/Result><Token>T:[A-Za-z0-9_-]{32}<\/Token><\/RequestTokenResponse>$/);
      const refused = await run(['issue', '--policy', 'melissa', '--param', 'L=nope'], env);
      expect(refused.code).to.equal(1);
      expect(refused.out).to.equal('<RequestTokenResponse><Result>TE01</Result><Token></Token></RequestTokenResponse>');
      const electa = await run(['issue', '--policy', 'electa', '--param', 'CID=42', '--param', 'AppKey=cli-appkey-0123456789', '--param', 'Result=csv'], env);
      expect(electa.code).to.equal(0);
      expect(electa.out).to.match(/^0,[0-9A-F-]{36}$/);
    });
    it('verifies an Electa session with --param CID and refuses one this store does not know', async () => {
      const { code, out } = await run(['verify', '--policy', 'electa', '--param', 'CID=42', '00000000-0000-4000-8000-000000000000']);
      expect(code).to.equal(1);
      expect(out).to.equal('ERR_TOKEN_UNKNOWN');
      const noCid = await run(['verify', '--policy', 'electa', '00000000-0000-4000-8000-000000000000']);
      expect(noCid.out).to.equal('ERR_REQUEST_INVALID');
    });
    it('issues an XDOC XST (and XUT) as JSON, and verify checks one against --param XSC', async () => {
      const env = { XDOC_KEY_HEX: 'ab'.repeat(32), XDOC_CONTEXT: 'CliContext', XDOC_APPKEY: 'cli-appkey', XDOC_INIT_VECTOR: 'Zz9!Yy8?' };
      const issued = await run(['issue', '--policy', 'xdoc'], env);
      expect(issued.code).to.equal(0);
      expect(issued.err).to.not.include('XDOC_');
      const { XST, XUT } = JSON.parse(issued.out) as { XST: string; XUT: string };
      const verified = await run(['verify', '--policy', 'xdoc', '--param', 'XSC=CliContext', '--param', `XUT=${XUT}`, XST], env);
      expect(verified.code).to.equal(0);
      expect(JSON.parse(verified.out)).to.deep.include({ policyId: 'xdoc', subject: 'demo-user' });
      const other = await run(['verify', '--policy', 'xdoc', '--param', 'XSC=Another', XST], env);
      expect([other.code, other.out]).to.deep.equal([1, 'ERR_TOKEN_CONTEXT_MISMATCH']);
      const rekeyed = await run(['verify', '--policy', 'xdoc', '--param', 'XSC=CliContext', XST], { ...env, XDOC_INIT_VECTOR: '@1B2c3D4' });
      expect([rekeyed.code, rekeyed.out]).to.deep.equal([1, 'ERR_TOKEN_UNDECRYPTABLE']);
      const query = await run(['issue', '--policy', 'xdoc', '--param', 'format=query'], env);
      expect(query.out).to.match(/^XSC=CliContext&XST=[A-Za-z0-9%]+&XUT=[A-Za-z0-9%]+$/);
    });
    it('refuses bad usage with exit 2', async () => {
      expect((await run(['issue'])).code).to.equal(2);
      expect((await run(['verify', '--policy', 'emalidate'])).code).to.equal(2);
      expect((await run(['frobnicate'])).code).to.equal(2);
      expect((await run(['issue', '--policy', 'x', '--param', 'novalue'])).err).to.include('--param takes NAME=VALUE, got "novalue"');
    });
    it('names an unknown policy and an unknown store', async () => {
      const policy = await run(['issue', '--policy', 'nope']);
      expect(policy.code).to.equal(1);
      expect(policy.err.split('\n').at(-1)).to.equal('ERR_POLICY_UNKNOWN: no policy "nope"');
      const store = await run(['issue', '--policy', 'emalidate', '--store', 'etcd://x']);
      expect(store.code).to.equal(1);
      expect(store.err).to.equal(`ERR_PLUGIN_UNKNOWN: unknown store "etcd"; known: ${listed((await registryOf()).stores)}`);
    });
  });

  describe('--store memory:?maxEntries=N', () => {
    it('takes the bound from --store or TOKENSMITH_STORE, and refuses one it cannot use with ERR_STORE_OPTIONS', async () => {
      const electa = ['issue', '--policy', 'electa', '--param', 'CID=123456', '--param', 'AppKey=UO86CN11XY73SF72TT40PG18ZE76VV71', '--param', 'Result=csv'];
      expect((await run([...electa, '--store', 'memory:?maxEntries=10'])).code).to.equal(0);
      const zero = await run([...electa, '--store', 'memory:?maxEntries=0']);
      expect([zero.code, zero.err]).to.deep.equal([1, 'ERR_STORE_OPTIONS: memory store: maxEntries must be given once, as a whole number from 1 to 100000000, got "0"']);
      const unknown = await run(electa, { TOKENSMITH_STORE: 'memory:?maxSessions=10' });
      expect([unknown.code, unknown.err]).to.deep.equal([1, 'ERR_STORE_OPTIONS: memory store: unknown parameter "maxSessions"; known: maxEntries, maxCounters']);
    });
  });

  describe('serve (as a process, through bin/tokensmith.js)', () => {
    it('listens on the port asked for, serves the example policy, and stops on SIGTERM', async () => {
      const child = spawn(process.execPath, ['bin/tokensmith.js', 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /listening on (http:\/\/\S+)/.exec(out);
            if (m) resolve(m[1] as string);
          });
          child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
        });
        const res = await fetch(`${url}/emalidate/token`, { method: 'POST' });
        expect(res.status).to.equal(200);
        const xdoc = (await (await fetch(`${url}/xdoc/token`, { method: 'POST' })).json()) as { query: string };
        expect((await fetch(`${url}/xdoc/demo?${xdoc.query}`)).status).to.equal(200);
      } finally {
        child.kill('SIGTERM');
      }
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).to.equal(0);
      // Start-up warnings are lines of the JSON log, like everything the server says.
      const lines = stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; warning?: string; msg: string; at?: string });
      const store = lines.find((l) => l.warning === 'store');
      expect(store?.level).to.equal(40);
      expect(store?.msg).to.match(/^the embedded memory store keeps sessions and lockouts in this process only/);
      // The demo defaults: one line for all of them, naming each policy's variables.
      const demo = lines.filter((l) => l.warning === 'demo-defaults');
      expect(demo).to.have.length(1);
      expect(demo[0]?.level).to.equal(40);
      expect((demo[0] as unknown as { policies: Record<string, string[]> }).policies).to.deep.include({
        emalidate: ['EMALIDATE_ISSUER', 'EMALIDATE_USER_ID', 'EMALIDATE_KID', 'EMALIDATE_SECRET'],
        xdoc: ['XDOC_CONTEXT', 'XDOC_APPKEY', 'XDOC_INIT_VECTOR', 'XDOC_KEY_HEX'],
      });
      expect(demo[0]?.msg).to.match(/^demo defaults in use, not for production: electa \(ELECTA_CID, ELECTA_APPKEY\); emalidate \(/);
      expect(lines.filter((l) => l.level >= 40)).to.have.length(3); // demo defaults, memory store, no admin secret
      // One summary line per policy: id, style, routes, protected routes.
      expect(lines.find((l) => (l as { policy?: string }).policy === 'emalidate' && l.msg.startsWith('policy '))?.msg).to.equal(
        'policy emalidate (emalidate): issues at POST /emalidate/token; protects GET /emalidate/demo',
      );
      expect(lines.at(-1)).to.deep.include({ msg: 'tokensmith stopped', cut: 0, exitCode: 0 });
    });
  });
});

describe('policies/tokensmith.schema.json (the editor schema)', () => {
  it('is what `tokensmith schema` prints for the built-in styles (regenerate with `node bin/tokensmith.js schema > policies/tokensmith.schema.json`)', async () => {
    const { readFileSync } = await import('node:fs');
    const { code, out } = await run(['schema']);
    expect(code).to.equal(0);
    expect(JSON.parse(readFileSync('policies/tokensmith.schema.json', 'utf8'))).to.deep.equal(JSON.parse(out));
    expect(Object.keys((JSON.parse(out) as { properties: object }).properties)).to.include('emalidate');
  });
});
