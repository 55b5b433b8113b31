import fc from 'fast-check';

/**
 * The seed of a fast-check run: `FUZZ_SEED` when set (to replay a failure), else a fresh one.
 * `FUZZ_PATH` (the `path` fast-check prints with a failure) replays the shrunk case at once.
 */
export function fuzzSeed(): number {
  const given = process.env['FUZZ_SEED'];
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed)) throw new TypeError(`FUZZ_SEED must be an integer, got "${given}"`);
    return seed;
  }
  return (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
}

/**
 * `fc.assert` with a seed that a failure names, with the command that replays it: the error
 * message (what mocha prints) ends with `FUZZ_SEED=… FUZZ_PATH=…`.
 *
 * @example await assertSeeded(fc.asyncProperty(fc.string(), async (s) => check(s)), { numRuns: 500 });
 */
export async function assertSeeded<Ts>(
  property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>,
  params: Omit<fc.Parameters<Ts>, 'seed' | 'path'> = {},
): Promise<void> {
  const seed = fuzzSeed();
  const path = process.env['FUZZ_PATH'];
  try {
    await fc.assert(property as fc.IAsyncProperty<Ts>, { ...params, seed, ...(path ? { path, endOnFailure: true } : {}) });
  } catch (err) {
    const found = /path: "([^"]*)"/.exec(String((err as Error).message))?.[1];
    const replay = `replay: FUZZ_SEED=${seed}${found ? ` FUZZ_PATH=${found}` : ''} npm test (or npx mocha dist/test/fuzz/…)`;
    console.error(`fast-check failure, ${replay}`);
    if (err instanceof Error) err.message = `${err.message}\n${replay}`;
    throw err;
  }
}
