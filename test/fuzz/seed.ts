import fc from 'fast-check';

/**
 * The seed of a fast-check run: `FUZZ_SEED` when set (to replay a failure), else a fresh one.
 * `FUZZ_PATH` (the `path` fast-check prints with a failure) replays the shrunk case at once.
 */
let chosen: number | undefined;

export function fuzzSeed(): number {
  chosen ??= pick();
  return chosen;
}

/** One seed per process, so that every property and the seeded randomness of a run share it. */
function pick(): number {
  const given = process.env['FUZZ_SEED'];
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed)) throw new TypeError(`FUZZ_SEED must be an integer, got "${given}"`);
    return seed;
  }
  return (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
}

/** Where a property lives, for the replay command a failure prints. */
export interface ReplayHint {
  /** The compiled test file, e.g. `dist/test/fuzz/routes.test.js`. */
  readonly file: string;
  /** A piece of the test's title to `--grep` for (plain text, no regular-expression characters). */
  readonly grep: string;
}

/**
 * `fc.assert` with a seed that a failure names, with the command that replays it: the error
 * message (what mocha prints) and stderr end with
 * `replay: FUZZ_SEED=… FUZZ_PATH=… npx mocha --no-config --exit -g '<grep>' <file>`.
 *
 * @example await assertSeeded(fc.asyncProperty(fc.string(), async (s) => check(s)), { numRuns: 500 });
 */
export async function assertSeeded<Ts>(
  property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>,
  params: Omit<fc.Parameters<Ts>, 'seed' | 'path'> = {},
  where?: ReplayHint,
): Promise<void> {
  const seed = fuzzSeed();
  const path = process.env['FUZZ_PATH'];
  try {
    await fc.assert(property as fc.IAsyncProperty<Ts>, { ...params, seed, ...(path ? { path, endOnFailure: true } : {}) });
  } catch (err) {
    const found = /path: "([^"]*)"/.exec(String((err as Error).message))?.[1];
    const command = where === undefined ? 'npm test' : `npx mocha --no-config --exit -g '${where.grep}' ${where.file}`;
    const replay = `replay: FUZZ_SEED=${seed}${found ? ` FUZZ_PATH=${found}` : ''} ${command}`;
    console.error(`fast-check failure, ${replay}`);
    if (err instanceof Error) err.message = `${err.message}\n${replay}`;
    throw err;
  }
}
