import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SystemClock } from '../../core/clock.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createLogger } from '../../server/logging.js';
import { perWorkerStoreIssues } from '../../server/per-worker-store.js';
import { reloader } from '../../server/reload.js';

const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: 'per-worker-appkey-0123456789', MELISSA_LICENSE: 'per-worker-licence-0123' };

describe('perWorkerStoreIssues(policies, registry, deps)', () => {
  const booted: Booted[] = [];
  const issuesOf = async (files: string[]) => {
    const one = await boot({ policies: files, env: ENV });
    booted.push(one);
    return perWorkerStoreIssues(one.engine.policies, one.registry, { store: one.store, clock: new SystemClock(), lockoutStarted: () => {} }).map((i) => [i.file, i.path, i.message]);
  };
  after(async () => {
    for (const one of booted) await one.store.close();
  });

  it('finds nothing in policies of self-contained tokens with only stateless rules', async () => {
    expect(await issuesOf(['policies/emalidate.yaml', 'policies/xdoc.yaml'])).to.deep.equal([]);
  });

  it('names opaque tokens and each rule that keeps state, per policy', async () => {
    expect(await issuesOf(['policies/electa.yaml', 'policies/melissa.yaml'])).to.deep.equal([
      [resolve('policies/electa.yaml'), '/style', 'policy electa: style electa keeps its tokens in the store, so a token issued by one worker would be unknown to the others'],
      [resolve('policies/electa.yaml'), '/lockout', 'policy electa: the lockout rule keeps state in the store, which each worker would keep apart'],
      [resolve('policies/melissa.yaml'), '/style', 'policy melissa: style melissa keeps its tokens in the store, so a token issued by one worker would be unknown to the others'],
      [resolve('policies/melissa.yaml'), '/lockout', 'policy melissa: the lockout rule keeps state in the store, which each worker would keep apart'],
    ]);
  });

  it('names single use on a self-contained token (the used ids live in the store)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-per-worker-'));
    try {
      writeFileSync(join(dir, 'emalidate.yaml'), readFileSync('policies/emalidate.yaml', 'utf8').replace('reuse: true', 'reuse: false'));
      expect(await issuesOf([dir])).to.deep.equal([
        [join(dir, 'emalidate.yaml'), '/reuse', 'policy emalidate: the single-use rule keeps state in the store, which each worker would keep apart'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses, as a reload check, a new set that keeps state: the old set goes on serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-per-worker-'));
    const file = join(dir, 'emalidate.yaml');
    writeFileSync(file, readFileSync('policies/emalidate.yaml', 'utf8'));
    const one = await boot({ policies: [dir], env: ENV });
    booted.push(one);
    try {
      const logged: string[] = [];
      const logger = createLogger({ destination: { write: (line: string) => void logged.push(line) } });
      const deps = { store: one.store, clock: new SystemClock(), lockoutStarted: () => {} };
      const { reload } = reloader(one, { policies: [dir], env: ENV, logger, check: (policies) => perWorkerStoreIssues(policies, one.registry, deps) });
      const served = one.engine.served;
      writeFileSync(file, readFileSync(file, 'utf8').replace('reuse: true', 'reuse: false'));
      const result = await reload('SIGHUP');
      expect(result.ok).to.equal(false);
      expect(result.ok ? [] : result.issues.map((i) => i.message)).to.deep.equal([
        'policy emalidate: the single-use rule keeps state in the store, which each worker would keep apart',
      ]);
      expect(one.engine.served).to.equal(served);
      expect(one.engine.policy('emalidate').reuse).to.equal(true);
      expect(logged.map((l) => (JSON.parse(l) as { msg: string }).msg)).to.deep.equal(['policy reload failed; the previous policies are still served']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
