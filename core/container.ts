import 'reflect-metadata';
import { Container, type ContainerModule } from 'inversify';
import { CryptoRandom } from './random.js';
import { SystemClock } from './clock.js';
import { Engine } from './engine.js';
import { PluginUnknownError } from './errors.js';
import { TYPES } from './ids.js';
import type { Clock, Random, Store, StoreFactory } from './ports.js';
import { PluginRegistry } from './registry.js';

export interface AssembleOptions {
  /** Plugin modules: the built-in ones and any loaded by path. */
  readonly modules: readonly ContainerModule[];
  /** `memory` (default) or a URL whose scheme names a store plugin (`redis://127.0.0.1:6379/0`). */
  readonly store?: string;
  readonly clock?: Clock;
  readonly random?: Random;
}

export interface Assembly {
  readonly container: Container;
  readonly registry: PluginRegistry;
  readonly engine: Engine;
  readonly store: Store;
}

/** The store plugin name a `--store` value asks for: `memory`, or a URL's scheme. */
export function storeNameOf(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  return match ? (match[1] as string).toLowerCase() : url;
}

/**
 * Builds the container: binds clock, random and the chosen store, loads every plugin module,
 * and resolves the engine. An unknown store name fails here, listing the known ones.
 *
 * @example
 * ```ts
 * const { engine } = await assemble({ modules: builtinModules, store: 'memory' });
 * await engine.load(policies);
 * ```
 */
export async function assemble(options: AssembleOptions): Promise<Assembly> {
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind<Clock>(TYPES.Clock).toConstantValue(options.clock ?? new SystemClock());
  container.bind<Random>(TYPES.Random).toConstantValue(options.random ?? new CryptoRandom());
  await container.loadAsync(...options.modules);
  const registry = new PluginRegistry(container);
  container.bind<PluginRegistry>(TYPES.Registry).toConstantValue(registry);

  const url = options.store ?? 'memory';
  const storeName = storeNameOf(url);
  const factory = container.get<StoreFactory>(TYPES.StoreFactory, { name: storeName, optional: true });
  if (factory === undefined) {
    throw new PluginUnknownError(`unknown store "${storeName}"; known: ${[...registry.stores].sort().join(', ') || '(none)'}`);
  }
  const clock = container.get<Clock>(TYPES.Clock);
  const store = factory(url, { clock });
  container.bind<Store>(TYPES.Store).toConstantValue(store);
  container
    .bind<Engine>(TYPES.Engine)
    .toDynamicValue((ctx) =>
      new Engine({
        store: ctx.get<Store>(TYPES.Store),
        clock: ctx.get<Clock>(TYPES.Clock),
        random: ctx.get<Random>(TYPES.Random),
        registry: ctx.get<PluginRegistry>(TYPES.Registry),
      }),
    )
    .inSingletonScope();
  return { container, registry, engine: container.get<Engine>(TYPES.Engine), store };
}
