import { ContainerModule } from 'inversify';
import { TYPES } from '../../../core/ids.js';
import type { PluginManifest, StoreFactory } from '../../../core/ports.js';
import { MemoryStore } from './memory-store.js';

export { MemoryStore } from './memory-store.js';

export const manifest: PluginManifest = { name: 'memory-store', stores: ['memory'] };

const factory: StoreFactory = (_url, { clock }) => new MemoryStore(clock);

/** Registers the embedded `memory` store. */
export default new ContainerModule(({ bind }) => {
  bind<StoreFactory>(TYPES.StoreFactory).toConstantValue(factory).whenNamed('memory');
  bind<PluginManifest>(TYPES.PluginManifest).toConstantValue(manifest);
});
