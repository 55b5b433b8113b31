import fc from 'fast-check';

/**
 * The seed of every fast-check property in this run: `FC_SEED` when set (to replay a failure),
 * else a fresh random one. It is set once for the whole process with `fc.configureGlobal` and
 * logged, so a failure seen anywhere can be replayed: `FC_SEED=<seed> npm test`, or one file
 * with `FC_SEED=<seed> npx mocha dist/test/….test.js`. Loaded by `.mocharc.json` (`require`) for
 * every test file; a property test also imports it, so it holds when run on its own.
 */
function chooseSeed(): number {
  const given = process.env['FC_SEED'];
  if (given === undefined || given === '') return (Math.random() * 2 ** 32) | 0;
  const seed = Number(given);
  if (!Number.isInteger(seed)) throw new TypeError(`FC_SEED must be an integer, got "${given}"`);
  return seed;
}

const SEEDED = Symbol.for('tokensmith/test/fast-check-seed');
const holder = globalThis as { [SEEDED]?: number };

if (holder[SEEDED] === undefined) {
  holder[SEEDED] = chooseSeed();
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: holder[SEEDED] });
  console.log(`fast-check seed ${holder[SEEDED]} (replay with FC_SEED=${holder[SEEDED]})`);
}

/** The seed fast-check properties use in this run. */
export const FC_SEED = holder[SEEDED] as number;
