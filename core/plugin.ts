import { ContainerModule } from 'inversify';
import { TYPES } from './ids.js';
import type { PluginManifest, ReplyEncoder, StoreFactory, StyleManifest, TokenStyle } from './ports.js';

/** A token style a plugin provides: its manifest entry and the style itself. */
export interface StylePart extends StyleManifest {
  readonly style: TokenStyle;
}

/** A reply encoder a plugin provides, under the name a policy's output format selects. */
export interface EncoderPart {
  readonly name: string;
  readonly encoder: ReplyEncoder;
}

/** A store a plugin provides, under the `--store` URL scheme that selects it. */
export interface StorePart {
  readonly name: string;
  readonly factory: StoreFactory;
}

/**
 * Everything one plugin provides, each part named once. Every kind of part is a list of named
 * entries, so a new kind of part is one more optional list here and one more line in
 * {@link definePlugin}.
 */
export interface PluginDescription {
  /** The plugin's own name (`electa`, `memory-store`), shown in messages. */
  readonly name: string;
  readonly styles?: readonly StylePart[];
  readonly encoders?: readonly EncoderPart[];
  readonly stores?: readonly StorePart[];
}

/** What {@link definePlugin} makes: the container module, carrying the manifest it binds. */
export interface PluginModule extends ContainerModule {
  readonly manifest: PluginManifest;
}

/**
 * Makes a plugin's inversify `ContainerModule` and its `PluginManifest` from one description,
 * so that every name is written once: each part is bound `whenNamed(part.name)` under its
 * service identifier, and the manifest that lists those names is bound under
 * `TYPES.PluginManifest`. The result is what a plugin module exports as its default.
 *
 * @example
 * ```ts
 * export default definePlugin({
 *   name: 'electa',
 *   styles: [{ name: 'electa', kind: 'opaque', settingsSchema, settingsRequired: false, style: new ElectaStyle() }],
 *   encoders: [{ name: 'electa-xml', encoder: new ElectaXmlEncoder() }],
 * });
 * ```
 */
export function definePlugin(description: PluginDescription): PluginModule {
  const { name, styles = [], encoders = [], stores = [] } = description;
  const manifest: PluginManifest = {
    name,
    ...(styles.length ? { styles: styles.map(styleManifest) } : {}),
    ...(encoders.length ? { encoders: encoders.map((part) => part.name) } : {}),
    ...(stores.length ? { stores: stores.map((part) => part.name) } : {}),
  };
  const module = new ContainerModule(({ bind }) => {
    for (const part of styles) bind<TokenStyle>(TYPES.TokenStyle).toConstantValue(part.style).whenNamed(part.name);
    for (const part of encoders) bind<ReplyEncoder>(TYPES.ReplyEncoder).toConstantValue(part.encoder).whenNamed(part.name);
    for (const part of stores) bind<StoreFactory>(TYPES.StoreFactory).toConstantValue(part.factory).whenNamed(part.name);
    bind<PluginManifest>(TYPES.PluginManifest).toConstantValue(manifest);
  });
  return Object.assign(module, { manifest });
}

/** A style's manifest entry: the part without the style object itself. */
function styleManifest(part: StylePart): StyleManifest {
  const { style: _style, ...manifest } = part;
  return manifest;
}
