import { definePlugin } from '../../../core/plugin.js';
import type { StoreFactory } from '../../../core/ports.js';
import { REDIS_SCHEMES } from './options.js';
import { RedisStore } from './redis-store.js';

export { RedisStore, type RedisStoreOptions } from './redis-store.js';

/**
 * The `redis` store, under each of its schemes (`redis`, `rediss`, `redis+sentinel`,
 * `redis+cluster`, and the last two over TLS); `TOKENSMITH_REDIS_PREFIX` sets the key prefix too.
 */
const make: StoreFactory = (url, { clock }) => {
  const prefix = process.env['TOKENSMITH_REDIS_PREFIX'];
  return new RedisStore(url, prefix === undefined ? { clock } : { prefix, clock });
};

const plugin = definePlugin({
  name: 'redis-store',
  stores: Object.fromEntries(REDIS_SCHEMES.map((scheme) => [scheme, make])),
});

export const { manifest } = plugin;
export default plugin;
