import { expect } from 'chai';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenSmithError, isTokenSmithError } from '../../core/errors.js';
import { tokenRequestFrom } from '../../core/request.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp } from '../../server/app.js';
import { main } from '../../server/cli.js';
import { listen } from '../helpers/http.js';
import { rejection } from '../helpers/boot.js';

const FIXTURE = 'test/fixtures/second-copy';
const PLUGIN = `${FIXTURE}/index.js`;
const POLICY = `${FIXTURE}/twin.yaml`;

/**
 * Lays out the fixture's own `node_modules/tokensmith` from the compiled core, as npm installs a
 * second copy for a plugin whose dependency range does not match the host's version.
 */
function layOutSecondCopy(): void {
  const root = join(FIXTURE, 'node_modules', 'tokensmith');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'dist'), { recursive: true });
  cpSync('dist/core', join(root, 'dist', 'core'), { recursive: true });
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: 'tokensmith', version: '0.0.0-second-copy', type: 'module', exports: { '.': './dist/core/index.js' } }),
  );
}

/** The plugin's tampered token: the last character of the signature changed. */
const tamper = (token: string): string => token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');

describe('a plugin with its own copy of tokensmith', () => {
  let booted: Booted;
  before(() => layOutSecondCopy());
  beforeEach(async () => {
    booted = await boot({ policies: [POLICY], plugins: [PLUGIN], env: {} });
  });
  afterEach(async () => {
    await booted.store.close();
  });

  it('throws errors of another class, recognised by isTokenSmithError through their brand and code', async () => {
    const issued = await booted.engine.issue('twin', tokenRequestFrom({ client_id: 'alice', client_secret: 'alice-secret-0001' }, '127.0.0.1'));
    const err = await rejection(() => booted.engine.verify('twin', tamper(issued.token), tokenRequestFrom({}, '127.0.0.1')));
    expect(err).to.not.be.instanceOf(TokenSmithError); // really a second copy
    expect(isTokenSmithError(err)).to.equal(true);
    expect(err.code).to.equal('ERR_TOKEN_SIGNATURE');
  });

  it('a tampered token gets 401 JSON with the code over HTTP, not a 500', async () => {
    const http = await listen(createApp({ engine: booted.engine }));
    try {
      const issued = (await (await fetch(`${http.url}/twin/token?client_id=alice&client_secret=alice-secret-0001`, { method: 'POST' })).json()) as { token: string };
      expect((await fetch(`${http.url}/twin/demo`, { headers: { authorization: `Bearer ${issued.token}` } })).status).to.equal(200);
      const res = await fetch(`${http.url}/twin/demo`, { headers: { authorization: `Bearer ${tamper(issued.token)}` } });
      expect(res.status).to.equal(401);
      expect(await res.json()).to.deep.equal({ error: 'ERR_TOKEN_SIGNATURE', error_description: 'signature verification failed' });
      expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="twin", error="invalid_token", error_description="ERR_TOKEN_SIGNATURE"');
    } finally {
      await http.close();
    }
  });

  it('`tokensmith verify` prints the code and exits 1 instead of crashing with a stack', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), env: {} };
    const common = ['--policies', POLICY, '--plugin', PLUGIN, '--policy', 'twin'];
    expect(await main(['issue', ...common, '--param', 'client_id=alice', '--param', 'client_secret=alice-secret-0001'], io)).to.equal(0);
    const { token } = JSON.parse(out.pop() as string) as { token: string };
    expect(await main(['verify', ...common, tamper(token)], io)).to.equal(1);
    expect(out.pop()).to.equal('ERR_TOKEN_SIGNATURE');
    expect(err.pop()).to.equal('ERR_TOKEN_SIGNATURE: signature verification failed');
  });
});
