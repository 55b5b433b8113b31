import { ContainerModule } from 'inversify';
import { TYPES } from '../../../core/ids.js';
import type { PluginManifest, StoreFactory } from '../../../core/ports.js';
import { RedisStore } from './redis-store.js';

export { RedisStore, type RedisStoreOptions } from './redis-store.js';

export const manifest: PluginManifest = { name: 'redis-store', stores: ['redis'] };

/** `redis://HOST:PORT/DB[?prefix=…]`; `TOKENSMITH_REDIS_PREFIX` sets the key prefix too. */
const factory: StoreFactory = (url, { clock }) => {
  const prefix = process.env['TOKENSMITH_REDIS_PREFIX'];
  return new RedisStore(url, prefix === undefined ? { clock } : { prefix, clock });
};

/** Registers the `redis` store. */
export default new ContainerModule(({ bind }) => {
  bind<StoreFactory>(TYPES.StoreFactory).toConstantValue(factory).whenNamed('redis');
  bind<PluginManifest>(TYPES.PluginManifest).toConstantValue(manifest);
});
