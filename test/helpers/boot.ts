import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../core/clock.js';
import { boot, type Booted } from '../../server/bootstrap.js';

/** The outside fixture plugin and its policy, by path as a user would give them. */
export const FIXTURE_PLUGIN = 'test/fixtures/outside-plugin/index.js';
export const FIXTURE_POLICY = 'test/fixtures/outside-plugin/fixture.yaml';
export const EMALIDATE_POLICY = 'policies/emalidate.yaml';

/**
 * The fixture policy whose style throws a `TypeError` when a request sends `boom` (a plugin's
 * programming error, on purpose), written to a temporary file; its path.
 */
export function crashingFixturePolicy(): string {
  const text = readFileSync(FIXTURE_POLICY, 'utf8');
  const line = 'fixture: { prefix: FX- }';
  if (!text.includes(line)) throw new Error(`${FIXTURE_POLICY} no longer has "${line}"`);
  const file = join(mkdtempSync(join(tmpdir(), 'ts-fixture-crash-')), 'fixture.yaml');
  writeFileSync(file, text.replace(line, 'fixture: { prefix: FX-, crashOn: boom }'));
  return file;
}

/** A frozen clock at a fixed instant, so tests never sleep. */
export const T0 = Date.parse('2026-11-22T12:00:00Z');

export interface Harness extends Booted {
  clock: ManualClock;
}

/** Boots the real engine with the fixture plugin and the example emalidate policy on a manual clock. */
export async function bootFixture(extra: { policies?: string[]; env?: Record<string, string> } = {}): Promise<Harness> {
  const clock = new ManualClock(T0);
  const booted = await boot({
    policies: extra.policies ?? [FIXTURE_POLICY, EMALIDATE_POLICY],
    plugins: [FIXTURE_PLUGIN],
    store: 'memory',
    env: extra.env ?? {},
    clock,
  });
  return { ...booted, clock };
}

/** Runs `fn`, expecting a rejection; returns the error for exact assertions. */
export async function rejection(fn: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection, got a result');
}
