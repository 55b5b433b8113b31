import { ContainerModule } from 'inversify';
import { TYPES } from './ids.js';
import type { GuardPlugin } from './guard.js';
import type { PluginManifest, ReplyEncoder, StoreFactory, StyleManifest, TokenStyle } from './ports.js';

/** One style a plugin provides: its manifest entry and the style itself. */
export interface StyleDefinition extends Omit<StyleManifest, 'name' | 'settingsRequired'> {
  readonly style: TokenStyle;
  /** Whether a policy of this style must have the settings block. Default false. */
  readonly settingsRequired?: boolean;
}

/** What {@link definePlugin} takes: a name, and what the plugin provides under which names. */
export interface PluginDefinition {
  readonly name: string;
  readonly styles?: Readonly<Record<string, StyleDefinition>>;
  readonly encoders?: Readonly<Record<string, ReplyEncoder>>;
  readonly stores?: Readonly<Record<string, StoreFactory>>;
  /** Guards (policy rules), each carrying its own name. */
  readonly guards?: readonly GuardPlugin[];
}

/**
 * A plugin module from a plain description: binds each style, encoder and store under its name
 * and the manifest that lists them, so the two cannot disagree. The module comes from
 * tokensmith's own inversify, so a plugin built with it needs no inversify of its own. Export it
 * as the module's default; `--plugin PATH` and `boot({ plugins })` load it.
 *
 * @example
 * ```js
 * import { definePlugin } from 'tokensmith';
 * export default definePlugin({
 *   name: 'my-plugin',
 *   styles: { mine: { kind: 'opaque', settingsSchema: { type: 'object', additionalProperties: false, properties: {} }, style: new MyStyle() } },
 *   encoders: { 'mine-text': new MyTextEncoder() },
 * });
 * ```
 */
export function definePlugin(definition: PluginDefinition): ContainerModule & { readonly manifest: PluginManifest } {
  const styles = Object.entries(definition.styles ?? {});
  const encoders = Object.entries(definition.encoders ?? {});
  const stores = Object.entries(definition.stores ?? {});
  const guards = definition.guards ?? [];
  const manifest: PluginManifest = {
    name: definition.name,
    styles: styles.map(([name, { style: _style, settingsRequired, ...rest }]) => ({ name, settingsRequired: settingsRequired ?? false, ...rest })),
    encoders: encoders.map(([name]) => name),
    stores: stores.map(([name]) => name),
    guards: guards.map((guard) => guard.name),
  };
  const module = new ContainerModule(({ bind }) => {
    for (const [name, { style }] of styles) bind<TokenStyle>(TYPES.TokenStyle).toConstantValue(style).whenNamed(name);
    for (const [name, encoder] of encoders) bind<ReplyEncoder>(TYPES.ReplyEncoder).toConstantValue(encoder).whenNamed(name);
    for (const [name, factory] of stores) bind<StoreFactory>(TYPES.StoreFactory).toConstantValue(factory).whenNamed(name);
    for (const guard of guards) bind<GuardPlugin>(TYPES.Guard).toConstantValue(guard);
    bind<PluginManifest>(TYPES.PluginManifest).toConstantValue(manifest);
  });
  return Object.assign(module, { manifest });
}

/** What {@link definePlugin} makes: the container module, carrying the manifest it binds. */
export type PluginModule = ReturnType<typeof definePlugin>;
