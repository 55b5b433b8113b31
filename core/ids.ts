/**
 * Service identifiers for the inversify container, namespaced so that an outside plugin
 * built against another copy of this package still resolves the same bindings.
 */
export const TYPES = {
  /** {@link Clock}: one per container. */
  Clock: Symbol.for('tokensmith/Clock'),
  /** {@link Random}: one per container. */
  Random: Symbol.for('tokensmith/Random'),
  /** {@link Store}: the one store the engine uses. */
  Store: Symbol.for('tokensmith/Store'),
  /** {@link StoreFactory}, bound `whenNamed(<store name>)`. */
  StoreFactory: Symbol.for('tokensmith/StoreFactory'),
  /** {@link TokenStyle}, bound `whenNamed(<style name>)`. */
  TokenStyle: Symbol.for('tokensmith/TokenStyle'),
  /** {@link ReplyEncoder}, bound `whenNamed(<encoder name>)`. */
  ReplyEncoder: Symbol.for('tokensmith/ReplyEncoder'),
  /** {@link GuardPlugin} (unnamed; each guard carries its name). */
  Guard: Symbol.for('tokensmith/Guard'),
  /** {@link PluginManifest}: every plugin binds one (unnamed), so names can be listed. */
  PluginManifest: Symbol.for('tokensmith/PluginManifest'),
  /** {@link PluginRegistry}: the plugins of this container, by name. */
  Registry: Symbol.for('tokensmith/Registry'),
  /** {@link Engine}. */
  Engine: Symbol.for('tokensmith/Engine'),
  /** {@link Logger}. */
  Logger: Symbol.for('tokensmith/Logger'),
} as const;
