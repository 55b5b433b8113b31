import type { Clock } from './ports.js';

/** The real clock. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
}

/**
 * A clock that only moves when told: for tests, and for plugin authors' conformance tests.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
 * clock.advance(301_000); // five minutes and a second later
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  constructor(start: number = Date.now()) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  set(ms: number): void {
    this.#now = ms;
  }
}
