import { StoreUnavailableError, hasCode, isTokenSmithError } from './errors.js';
import type { Store } from './ports.js';

/** The store methods a request may call (its required ones and the optional abilities). */
const REQUEST_METHODS = [
  'put', 'putIfAbsent', 'get', 'delete', 'consume', 'increment', 'deny', 'isDenied', 'ttl',
  'putRecord', 'getRecord', 'consumeRecord', 'roomForCounters', 'indexAdd', 'indexList', 'indexRemove',
  'indexSession', 'revokeSessions', 'stampNotBefore', 'notBefore',
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
  /** The error a failed store call is reported as. */
  const failure = (err: unknown): unknown => {
    if (hasCode(err, 'ERR_STORE_FULL')) failures.full();
    if (isTokenSmithError(err)) return err;
    failures.unavailable();
    return new StoreUnavailableError('the token store is unavailable', { cause: err });
  };
  const fail = (err: unknown): never => {
    throw failure(err);
  };
  const wrapped: Record<string, unknown> = { close: () => store.close() };
  const methods = store as unknown as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;
  for (const name of REQUEST_METHODS) {
    const method = methods[name];
    if (typeof method !== 'function') continue;
    wrapped[name] = (...args: unknown[]) => {
      try {
        return method.apply(store, args).then(undefined, fail);
      } catch (err) {
        // A store that throws instead of rejecting fails closed all the same.
        return Promise.reject(failure(err));
      }
    };
  }
  return wrapped as unknown as Store;
}
