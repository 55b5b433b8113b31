import { expect } from 'chai';
import { execFileSync } from 'node:child_process';

/** Runs a property twice in a fresh process with `env`, printing what the helper logged and the values fast-check drew. */
function run(env: Record<string, string>): { logged: string; drawn: number[][] } {
  const script = `
    await import(${JSON.stringify(`${process.cwd()}/dist/test/helpers/fast-check.js`)});
    const fc = (await import('fast-check')).default;
    const drawn = [];
    for (let i = 0; i < 2; i++) {
      const values = [];
      fc.assert(fc.property(fc.integer(), (n) => { values.push(n); }), { numRuns: 5 });
      drawn.push(values);
    }
    console.log(JSON.stringify(drawn));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, FC_SEED: '', ...env }, encoding: 'utf8' });
  const [logged, json] = out.trim().split('\n') as [string, string];
  return { logged, drawn: JSON.parse(json) as number[][] };
}

describe('test/helpers/fast-check (the run’s seed)', () => {
  it('logs the seed it chose, and FC_SEED replays exactly the values that run drew', () => {
    const first = run({});
    const seed = /^fast-check seed (-?\d+) \(replay with FC_SEED=(-?\d+)\)$/.exec(first.logged);
    expect(seed, first.logged).to.not.equal(null);
    expect(seed?.[1]).to.equal(seed?.[2]);
    const replay = run({ FC_SEED: seed?.[1] as string });
    expect(replay.logged).to.equal(first.logged);
    expect(replay.drawn).to.deep.equal(first.drawn);
    expect(replay.drawn[0]).to.deep.equal(replay.drawn[1]); // every property in a run starts from the seed
  });
  it('refuses an FC_SEED that is not an integer', () => {
    expect(() => run({ FC_SEED: 'abc' })).to.throw(/FC_SEED must be an integer, got "abc"/);
  });
});
