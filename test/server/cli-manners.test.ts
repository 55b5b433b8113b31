import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { COMMANDS } from '../../server/cli-spec.js';
import { main, type CliIO } from '../../server/cli.js';
import { FIXTURE_PLUGIN } from '../helpers/boot.js';
import { freePort } from '../helpers/redis.js';

interface Ran {
  code: number;
  out: string;
  err: string;
}

async function run(argv: string[], env: Record<string, string> = {}, extra: Partial<CliIO> = {}, signal?: AbortSignal): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env, ...extra }, signal);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** `bin/tokensmith.js` as an operator runs it, in `cwd`. */
function bin(args: string[], cwd: string, env: Record<string, string> = {}): Ran {
  const ran = spawnSync(process.execPath, [resolve('bin/tokensmith.js'), ...args], { cwd, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 20_000 });
  return { code: ran.status ?? -1, out: ran.stdout, err: ran.stderr };
}

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

/** `serve` in this process until `stop()`; its log lines captured as text. */
async function serving(args: string[], env: Record<string, string> = {}, extra: Partial<CliIO> = {}) {
  const abort = new AbortController();
  let log = '';
  let url = '';
  let listening: () => void = () => {};
  const up = new Promise<void>((r) => (listening = r));
  const done = main(
    ['serve', '--port', '0', ...args],
    {
      out: (t) => {
        url = /listening on (\S+)/.exec(t)?.[1] ?? url;
        listening();
      },
      err: (t) => (log += `${t}\n`),
      env,
      log: { write: (line: string) => void (log += line) },
      ...extra,
    },
    abort.signal,
  );
  await Promise.race([up, done.then((code) => Promise.reject(new Error(`serve ended with ${code}:\n${log}`)))]);
  return {
    url,
    log: () => log,
    async stop() {
      abort.abort();
      return done;
    },
  };
}

describe('server/cli manners', () => {
  describe('help and version', () => {
    it('--version and -V print the package version and exit 0', async () => {
      expect(await run(['--version'])).to.deep.equal({ code: 0, out: VERSION, err: '' });
      expect((await run(['-V'])).out).to.equal(VERSION);
    });
    it('--help, -h and help print the commands to stdout and exit 0', async () => {
      for (const argv of [['--help'], ['-h'], ['help']]) {
        const { code, out, err } = await run(argv);
        expect([code, err]).to.deep.equal([0, '']);
        expect(out).to.match(/^tokensmith \d+\.\d+\.\d+: /);
        for (const command of COMMANDS) expect(out).to.match(new RegExp(`^  ${command.name}\\s+${command.summary.replace(/[()]/g, '\\$&')}$`, 'm'));
      }
    });
    it('CMD --help, CMD -h and help CMD print that command’s help: every flag, its environment variable and default', async () => {
      for (const command of COMMANDS.filter((c) => c.name !== 'help')) {
        const viaFlag = await run([command.name, '--help']);
        expect(viaFlag.code).to.equal(0);
        expect((await run([command.name, '-h'])).out).to.equal(viaFlag.out);
        expect((await run(['help', command.name])).out).to.equal(viaFlag.out);
        expect(viaFlag.out.split('\n')[0]).to.equal(`tokensmith ${command.name}: ${command.summary}`);
        for (const flag of command.flags) {
          const line = viaFlag.out.split('\n').find((l) => l.includes(`--${flag.name}`) && l.includes(flag.help));
          expect(line, `${command.name} --${flag.name}`).to.be.a('string');
          if (flag.env) expect(line).to.include(`env ${flag.env}`);
          if (flag.default) expect(line).to.include(`default ${flag.default}`);
        }
      }
      const serve = (await run(['serve', '--help'])).out;
      for (const name of ['TOKENSMITH_HOST', 'TOKENSMITH_PORT', 'TOKENSMITH_POLICIES', 'TOKENSMITH_PLUGINS', 'TOKENSMITH_STORE', 'TOKENSMITH_ADMIN_SECRET', 'TOKENSMITH_LOG_FORMAT']) {
        expect(serve).to.include(name);
      }
    });
  });

  describe('usage mistakes: stderr, exit 2', () => {
    it('no command prints the commands to stderr', async () => {
      const { code, out, err } = await run([]);
      expect([code, out]).to.deep.equal([2, '']);
      expect(err).to.match(/^tokensmith \d+\.\d+\.\d+: /);
    });
    it('an unknown command, an unknown flag or a missing value says so in one line and where to look', async () => {
      expect(await run(['frobnicate'])).to.deep.equal({ code: 2, out: '', err: 'tokensmith: unknown command "frobnicate"\nRun "tokensmith --help" for the commands.' });
      expect(await run(['check', '--port', '3'])).to.deep.equal({ code: 2, out: '', err: 'tokensmith: unknown option \'--port\'\nRun "tokensmith check --help" for its flags.' });
      expect((await run(['help', 'frobnicate'])).code).to.equal(2);
      expect((await run(['serve', '--log-format', 'xml'])).err.split('\n')[0]).to.equal('tokensmith: --log-format takes json or pretty, got "xml"');
      expect((await run(['serve', 'policies'])).err.split('\n')[0]).to.equal('tokensmith: serve takes no arguments, got "policies" (use --policies DIR)');
    });
  });

  describe('runtime failures: one line with a hint, exit 1, no stack', () => {
    it('a port already taken', async () => {
      const taken = createServer().listen(0, '127.0.0.1');
      await once(taken, 'listening');
      const { port } = taken.address() as { port: number };
      try {
        const { code, out, err } = await run(['serve', '--port', String(port)]);
        expect([code, out]).to.deep.equal([1, '']);
        expect(err).to.equal(`tokensmith: port ${port} on 127.0.0.1 is already in use; stop the other server, or choose another port with --port N (or TOKENSMITH_PORT)`);
      } finally {
        taken.close();
      }
    });
    it('no ./policies folder: points at --policies and at the examples that come with the package', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ts-cli-nopol-'));
      try {
        const { code, out, err } = bin(['serve'], dir);
        expect([code, out]).to.deep.equal([1, '']);
        expect(err).to.equal(
          `tokensmith: no ./policies folder in ${dir}; pass --policies DIR (or set TOKENSMITH_POLICIES), or try the example policies that come with tokensmith: --policies ${resolve('policies')}\n`,
        );
        const issued = bin(['issue', '--policy', 'emalidate'], dir);
        expect(issued.code).to.equal(1);
        expect(issued.err).to.match(/^tokensmith: no \.\/policies folder in /);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
    it('a folder that does not exist, and one without policy files', async () => {
      expect(await run(['serve', '--policies', 'no/such/dir'])).to.deep.equal({
        code: 1,
        out: '',
        err: 'tokensmith: policy path no/such/dir does not exist; check the --policies value (or TOKENSMITH_POLICIES)',
      });
      const empty = mkdtempSync(join(tmpdir(), 'ts-cli-empty-'));
      try {
        const served = await run(['serve', '--policies', empty]);
        expect(served).to.deep.equal({
          code: 1,
          out: '',
          err: `tokensmith: no policy files (*.yaml, *.yml) in ${empty}; write one (see "Getting started" in the README and docs/policies.md) or point --policies at a folder that has some`,
        });
        expect((await run(['check', empty])).err).to.equal(`tokensmith: no policy files (*.yaml, *.yml) in ${empty}; name a policy file or a folder that has some`);
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    });
    it('a Redis that cannot be reached at start (the password never shown)', async () => {
      const port = await freePort(); // nothing listens there
      const url = `redis://user:hunter2-secret@127.0.0.1:${port}/0`;
      for (const argv of [['serve', '--store', url], ['issue', '--policy', 'emalidate', '--store', url]]) {
        const { code, out, err } = await run(argv, {}, { storeWaitMs: 300 });
        expect([code, out]).to.deep.equal([1, '']);
        expect(err).to.equal(
          `tokensmith: cannot reach the store at redis://user:***@127.0.0.1:${port}/0; start it, or fix --store (or TOKENSMITH_STORE); nothing was served`,
        );
      }
    });
  });

  describe('serve', () => {
    it('serves every --policies given, not only the last', async () => {
      const server = await serving(['--policies', 'policies/electa.yaml', '--policies', 'policies/emalidate.yaml']);
      try {
        expect(await (await fetch(`${server.url}/healthz`)).json()).to.deep.equal({ status: 'ok', policies: 2 });
        expect((await fetch(`${server.url}/emalidate/token`, { method: 'POST' })).status).to.equal(200);
      } finally {
        expect(await server.stop()).to.equal(0);
      }
    });
    it('reads host, port, policies, plugins and store from TOKENSMITH_* when the flags are absent', async () => {
      const port = await freePort();
      const abort = new AbortController();
      let url = '';
      let up: () => void = () => {};
      const listening = new Promise<void>((r) => (up = r));
      const env = {
        TOKENSMITH_HOST: '127.0.0.1',
        TOKENSMITH_PORT: String(port),
        TOKENSMITH_POLICIES: 'policies/emalidate.yaml, test/fixtures/outside-plugin/fixture.yaml',
        TOKENSMITH_PLUGINS: FIXTURE_PLUGIN,
        TOKENSMITH_STORE: 'memory',
        TOKENSMITH_LOG_LEVEL: 'silent',
      };
      const done = main(['serve'], { out: (t) => ((url = /listening on (\S+)/.exec(t)?.[1] ?? ''), up()), err: () => {}, env, log: { write: () => {} } }, abort.signal);
      await Promise.race([listening, done]);
      try {
        expect(url).to.equal(`http://127.0.0.1:${port}`);
        expect(await (await fetch(`${url}/healthz`)).json()).to.deep.equal({ status: 'ok', policies: 2 });
        expect((await fetch(`${url}/fixture/token?client_id=alice&client_secret=alice-secret-0001&format=text`)).status).to.equal(200);
      } finally {
        abort.abort();
        expect(await done).to.equal(0);
      }
    });
    it('logs JSON lines by default off a terminal, readable lines on one (or with --log-format pretty)', async () => {
      const json = await serving(['--policies', 'policies/emalidate.yaml']);
      await json.stop();
      const lines = json.log().trim().split('\n');
      expect(lines.every((l) => typeof (JSON.parse(l) as { msg: string }).msg === 'string')).to.equal(true);
      for (const pretty of [await serving(['--policies', 'policies/emalidate.yaml'], {}, { stderrIsTTY: true }), await serving(['--policies', 'policies/emalidate.yaml', '--log-format', 'pretty'])]) {
        await fetch(`${pretty.url}/emalidate/token`, { method: 'POST' });
        await pretty.stop();
        const text = pretty.log();
        expect(text).to.not.match(/^\{/m);
        expect(text).to.match(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: policy emalidate \(emalidate\): issues at POST \/emalidate\/token; protects GET \/emalidate\/demo /m);
        expect(text).to.match(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: demo defaults in use, not for production: emalidate \(EMALIDATE_ISSUER, EMALIDATE_USER_ID, EMALIDATE_KID, EMALIDATE_SECRET\); /m);
        expect(text).to.match(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: token request \{"kind":"issue","policy":"emalidate"/m);
      }
      const forced = await serving(['--policies', 'policies/emalidate.yaml', '--log-format', 'json'], {}, { stderrIsTTY: true });
      await forced.stop();
      expect(forced.log()).to.match(/^\{"level":30/);
    });
    it('start-up says one line per policy and the demo defaults once, grouped', async () => {
      const server = await serving([]);
      await server.stop();
      const lines = server.log().trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; warning?: string; policy?: string });
      const before = lines.slice(0, lines.findIndex((l) => l.msg === 'tokensmith listening'));
      expect(before.filter((l) => l.level === 30).map((l) => l.policy)).to.deep.equal(['electa', 'emalidate', 'jwt', 'melissa', 'xdoc']);
      expect(before.filter((l) => l.level === 40).map((l) => l.warning)).to.deep.equal(['demo-defaults', 'store', 'admin']);
    });
  });

  describe('issue and verify', () => {
    it('warn only about the demo defaults of the policy they use', async () => {
      const { code, err } = await run(['issue', '--policy', 'emalidate']);
      expect(code).to.equal(0);
      const warnings = err.split('\n');
      expect(warnings).to.have.length(4);
      for (const line of warnings) expect(line).to.match(/^WARNING policies\/emalidate\.yaml:\d+:\d+: \/emalidate\/\S+: EMALIDATE_[A-Z_]+ is not set/);
    });
    it('suggest a close policy id', async () => {
      const { code, err } = await run(['issue', '--policy', 'emalidat']);
      expect(code).to.equal(1);
      expect(err.split('\n').at(-1)).to.equal('ERR_POLICY_UNKNOWN: no policy "emalidat"; did you mean "emalidate"?');
    });
  });

  describe('check', () => {
    it('lists a folder’s policies after a --plugin from TOKENSMITH_PLUGINS', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ts-cli-env-'));
      try {
        mkdirSync(join(dir, 'p'));
        writeFileSync(join(dir, 'p', 'fixture.yaml'), readFileSync('test/fixtures/outside-plugin/fixture.yaml', 'utf8').replace('bob-secret-0002', '${env:BOB:-bob-secret-0002}'));
        const { code, out } = await run(['check', join(dir, 'p')], { TOKENSMITH_PLUGINS: FIXTURE_PLUGIN });
        expect([code, out]).to.deep.equal([0, 'ok: 1 policy (fixture)']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
