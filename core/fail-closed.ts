import { StoreUnavailableError, hasCode, isTokenSmithError } from './errors.js';
import type { Store } from './ports.js';

/** The store methods a request may call (its required ones and the optional abilities). */
const REQUEST_METHODS = [
  'put', 'putIfAbsent', 'get', 'delete', 'consume', 'increment', 'deny', 'isDenied', 'ttl',
  'putRecord', 'getRecord', 'consumeRecord', 'roomForCounters',
] as const;

/** What the engine is told about store failures (for metrics and warnings). */
export interface StoreFailures {
  full(): void;
  unavailable(): void;
}

/**
 * The store as requests see it: every call fails closed. A failure that is not one of ours
 * becomes `StoreUnavailableError` (the request is refused, never let through); our own errors
 * (`StoreFullError`, a record that cannot be read) pass as they are. The result has exactly the
 * optional abilities of `store`, so that `holdsRecords` and `hasCounterRoom` answer as for it.
 *
 * @example const store = failClosed(memoryStore, { full: () => {}, unavailable: () => {} });
 */
export function failClosed(store: Store, failures: StoreFailures): Store {
  const fail = (err: unknown): never => {
    if (hasCode(err, 'ERR_STORE_FULL')) failures.full();
    if (isTokenSmithError(err)) throw err;
    failures.unavailable();
    throw new StoreUnavailableError('the token store is unavailable', { cause: err });
  };
  const wrapped: Record<string, unknown> = { close: () => store.close() };
  const methods = store as unknown as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;
  for (const name of REQUEST_METHODS) {
    const method = methods[name];
    if (typeof method !== 'function') continue;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await method.apply(store, args);
      } catch (err) {
        return fail(err);
      }
    };
  }
  return wrapped as unknown as Store;
}
