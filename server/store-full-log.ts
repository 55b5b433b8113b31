import type { Engine } from '../core/engine.js';
import type { Logger } from '../core/ports.js';

/** At most one "store full" line in this time: a flood of refusals must not flood the log. */
const EVERY_MS = 60_000;

/**
 * Warns in the log when the store refuses requests for lack of room (`ERR_STORE_FULL`): one
 * line at the first refusal, then at most one a minute, each saying how many were refused since
 * the line before. Time comes from the engine's clock. Returns the function that stops it.
 *
 * @example const stop = warnWhenStoreFull(engine, logger);
 */
export function warnWhenStoreFull(engine: Engine, logger: Logger): () => void {
  let lastAt = -Infinity;
  let refused = 0;
  return engine.observe({
    storeFull() {
      refused++;
      const now = engine.clock.now();
      if (now - lastAt < EVERY_MS) return;
      lastAt = now;
      logger.warn(
        { warning: 'store-full', refused },
        'the store is full: new sessions (or lockout counters) are refused with ERR_STORE_FULL until held ones expire; raise maxEntries or shorten ttl',
      );
      refused = 0;
    },
  });
}
