import { StoreOptionsInvalidError } from '../../../core/errors.js';
import type { MemoryStoreOptions } from './memory-store.js';

/** The largest bound accepted: far beyond what one process can hold, so a typo is caught. */
const LIMIT = 100_000_000;
const WHOLE = /^[1-9][0-9]{0,8}$/;
const NAMES = ['maxEntries', 'maxCounters'] as const;

/**
 * The memory store's settings from a `--store` value: `memory`, or `memory:?maxEntries=N`
 * (and `maxCounters=M`). Anything else — an unknown parameter, a value that is not a whole number
 * from 1 to 100,000,000, a parameter given twice — is `StoreOptionsInvalidError`, never a guess.
 *
 * @example memoryStoreOptions('memory:?maxEntries=100000') // { maxEntries: 100000 }
 */
export function memoryStoreOptions(url: string): MemoryStoreOptions {
  const match = /^memory(?::(?:\/\/)?(\?.*)?)?$/i.exec(url);
  if (match === null) {
    throw new StoreOptionsInvalidError(`memory store: expected "memory" or "memory:?maxEntries=N", got "${url.slice(0, 100)}"`, { claim: 'store' });
  }
  const options: { -readonly [K in keyof MemoryStoreOptions]: MemoryStoreOptions[K] } = {};
  const query = new URLSearchParams(match[1] ?? '');
  for (const name of new Set(query.keys())) {
    if (!(NAMES as readonly string[]).includes(name)) {
      throw new StoreOptionsInvalidError(`memory store: unknown parameter "${name.slice(0, 64)}"; known: ${NAMES.join(', ')}`, { claim: name.slice(0, 64) });
    }
    const values = query.getAll(name);
    const value = values[0] as string;
    if (values.length > 1 || !WHOLE.test(value) || Number(value) > LIMIT) {
      throw new StoreOptionsInvalidError(`memory store: ${name} must be given once, as a whole number from 1 to ${LIMIT}, got "${values.join(',').slice(0, 64)}"`, {
        claim: name,
      });
    }
    options[name as (typeof NAMES)[number]] = Number(value);
  }
  return options;
}
