import type { Container } from 'inversify';
import { PluginLoadError, PluginUnknownError } from './errors.js';
import { TYPES } from './ids.js';
import type { GuardPlugin } from './guard.js';
import type { PolicyCatalog } from './policy/load.js';
import type { PluginManifest, ReplyEncoder, StyleManifest, TokenStyle } from './ports.js';

/**
 * The plugins a container holds, by name. Built once from every bound `PluginManifest` and
 * guard; looks styles and encoders up by the names a policy gives and, for an unknown name,
 * says which exist.
 */
export class PluginRegistry implements PolicyCatalog {
  readonly styles: ReadonlyMap<string, StyleManifest>;
  readonly encoders: ReadonlySet<string>;
  readonly stores: ReadonlySet<string>;
  /** Every guard plugin, by name. */
  readonly guards: ReadonlyMap<string, GuardPlugin>;
  /** The guards in the order they run (by `order`, then name). */
  readonly guardsInOrder: readonly GuardPlugin[];
  readonly #container: Container;

  constructor(container: Container) {
    this.#container = container;
    const manifests = container.isBound(TYPES.PluginManifest) ? container.getAll<PluginManifest>(TYPES.PluginManifest) : [];
    const styles = new Map<string, StyleManifest>();
    const encoders = new Set<string>();
    const stores = new Set<string>();
    for (const manifest of manifests) {
      for (const style of manifest.styles ?? []) styles.set(style.name, style);
      for (const encoder of manifest.encoders ?? []) encoders.add(encoder);
      for (const store of manifest.stores ?? []) stores.add(store);
    }
    this.styles = styles;
    this.encoders = encoders;
    this.stores = stores;
    const guards = new Map<string, GuardPlugin>();
    for (const guard of container.isBound(TYPES.Guard) ? container.getAll<GuardPlugin>(TYPES.Guard) : []) {
      if (guards.has(guard.name)) throw new PluginLoadError(`two guard plugins are named "${guard.name}"`);
      guards.set(guard.name, guard);
    }
    this.guards = guards;
    this.guardsInOrder = [...guards.values()].sort((a, b) => a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  style(name: string): TokenStyle {
    return this.#get<TokenStyle>(TYPES.TokenStyle, name, 'token style', [...this.styles.keys()]);
  }

  encoder(name: string): ReplyEncoder {
    return this.#get<ReplyEncoder>(TYPES.ReplyEncoder, name, 'reply encoder', [...this.encoders]);
  }

  #get<T>(id: symbol, name: string, what: string, known: readonly string[]): T {
    const found = this.#container.get<T>(id, { name, optional: true });
    if (found === undefined) {
      throw new PluginUnknownError(`unknown ${what} "${name}"; known: ${known.length ? [...known].sort().join(', ') : '(none)'}`);
    }
    return found;
  }
}
