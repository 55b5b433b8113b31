import { definePlugin } from '../../../core/plugin.js';
import { MemoryStore } from './memory-store.js';
import { memoryStoreOptions } from './options.js';

export { MemoryStore, DEFAULT_MAX_ENTRIES, type MemoryStoreOptions } from './memory-store.js';
export { memoryStoreOptions } from './options.js';

/** The embedded `memory` store: `memory`, or `memory:?maxEntries=N&maxCounters=M` (see `memoryStoreOptions`). */
const plugin = definePlugin({
  name: 'memory-store',
  stores: { memory: (url, { clock }) => new MemoryStore(clock, memoryStoreOptions(url)) },
});

export const { manifest } = plugin;
export default plugin;
