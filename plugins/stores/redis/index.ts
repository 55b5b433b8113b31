import { definePlugin } from '../../../core/plugin.js';
import { RedisStore } from './redis-store.js';

export { RedisStore, type RedisStoreOptions } from './redis-store.js';

/** The `redis` store: `redis://HOST:PORT/DB[?prefix=…]`; `TOKENSMITH_REDIS_PREFIX` sets the key prefix too. */
const plugin = definePlugin({
  name: 'redis-store',
  stores: {
    redis: (url, { clock }) => {
      const prefix = process.env['TOKENSMITH_REDIS_PREFIX'];
      return new RedisStore(url, prefix === undefined ? { clock } : { prefix, clock });
    },
  },
});

export const { manifest } = plugin;
export default plugin;
