import { ContainerModule } from 'inversify';
import { TYPES } from '../../../core/ids.js';
import type { PluginManifest, StoreFactory } from '../../../core/ports.js';
import { MemoryStore } from './memory-store.js';
import { memoryStoreOptions } from './options.js';

export { MemoryStore, DEFAULT_MAX_ENTRIES, type MemoryStoreOptions } from './memory-store.js';
export { memoryStoreOptions } from './options.js';

export const manifest: PluginManifest = { name: 'memory-store', stores: ['memory'] };

/** `memory`, or `memory:?maxEntries=N&maxCounters=M` (see `memoryStoreOptions`). */
const factory: StoreFactory = (url, { clock }) => new MemoryStore(clock, memoryStoreOptions(url));

/** Registers the embedded `memory` store. */
export default new ContainerModule(({ bind }) => {
  bind<StoreFactory>(TYPES.StoreFactory).toConstantValue(factory).whenNamed('memory');
  bind<PluginManifest>(TYPES.PluginManifest).toConstantValue(manifest);
});
