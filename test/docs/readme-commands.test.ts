import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { COMMANDS } from '../../server/cli-spec.js';
import { listeningUrl } from '../helpers/http.js';

const DOCS = ['README.md', 'docs/policies.md', 'docs/plugins.md', 'examples/README.md'];

/** The shell blocks of a Markdown file. */
function shellBlocks(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

/**
 * A fresh project where tokensmith is installed, as `npm install tokensmith` leaves it: the
 * package in node_modules (linked to this repository) and its command in node_modules/.bin.
 */
function projectWithTokensmith(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ts-readme-'));
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(resolve('.'), join(dir, 'node_modules', 'tokensmith'), 'dir');
  symlinkSync('../tokensmith/bin/tokensmith.js', join(dir, 'node_modules', '.bin', 'tokensmith'));
  return dir;
}

const shell = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', npm_config_offline: 'true', npm_config_update_notifier: 'false' };

describe('the commands in README.md and docs/', () => {
  it('call the command line as `npx tokensmith`, with flags that exist', () => {
    for (const file of DOCS) {
      for (const block of shellBlocks(file)) {
        for (const line of block.split('\n')) {
          expect(line, `${file}: ${line}`).to.not.match(/^\s*tokensmith\s/);
          const call = /^npx tokensmith (\w+)(.*)$/.exec(line.trim());
          if (call === null) continue;
          const [, name, rest] = call as unknown as [string, string, string];
          const spec = COMMANDS.find((c) => c.name === name);
          expect(spec, `${file}: unknown command in ${line}`).to.not.equal(undefined);
          for (const flag of (rest.split('#')[0] ?? '').matchAll(/--([a-z-]+)/g)) {
            expect(spec?.flags.map((f) => f.name), `${file}: ${line}`).to.include(flag[1]);
          }
        }
      }
    }
  });

  it('"Getting started" runs as written in a project where tokensmith is installed', async () => {
    const [block] = shellBlocks('README.md').filter((b) => b.includes('cat > my-policies/shop.yaml'));
    expect(block).to.be.a('string');
    const lines = (block as string).split('\n');
    const serveLine = lines.find((l) => l.startsWith('npx tokensmith serve')) as string;
    const script = lines.filter((l) => l !== serveLine).join('\n');
    const dir = projectWithTokensmith();
    try {
      const ran = spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script], { cwd: dir, encoding: 'utf8', env: shell, timeout: 60_000 });
      expect(ran.stderr).to.equal('');
      expect(ran.status).to.equal(0);
      const [checked, issued] = ran.stdout.trim().split('\n');
      expect(checked).to.equal('ok: 1 policy (shop)');
      expect(JSON.parse(issued as string)).to.deep.include({ expires_in: 600 });

      // The serve line, on a free port instead of 8081, with the variables the block exported.
      const env = { ...shell, ...Object.fromEntries([...script.matchAll(/(SHOP_[A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2]])) };
      // In a process group of its own: bash starts npx, which starts node; the whole group is stopped below.
      const child = spawn('bash', ['--norc', '--noprofile', '-c', serveLine.replace('--port 8081', '--port 0')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      try {
        const url = await listeningUrl(child);
        // What the block's curl lines send.
        const body = 'client_id=web-shop&client_secret=change-me-0123456789';
        const res = await fetch(`${url}/shop/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
        const { token } = (await res.json()) as { token: string };
        const orders = await fetch(`${url}/shop/orders`, { headers: { authorization: `Bearer ${token}` } });
        expect(await orders.json()).to.deep.include({ ok: true, policy: 'shop', sub: 'web-shop' });
      } finally {
        // Killing bash alone left `tokensmith serve` running after every test run.
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
