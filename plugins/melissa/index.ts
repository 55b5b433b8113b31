import { ContainerModule } from 'inversify';
import { TYPES } from '../../core/ids.js';
import type { PluginManifest, ReplyEncoder, TokenStyle } from '../../core/ports.js';
import { MelissaGetTokenEncoder, MelissaJsonEncoder, MelissaServiceEncoder, MelissaXmlEncoder } from './encoders.js';
import { check, settingsSchema } from './schema.js';
import { MelissaStyle } from './style.js';

export { MelissaStyle, parseLifetime } from './style.js';
export { melissaCode } from './codes.js';
export { KNOWN_PACKAGES, settingsSchema } from './schema.js';

const ENCODERS: Readonly<Record<string, ReplyEncoder>> = {
  'melissa-xml': new MelissaXmlEncoder(),
  'melissa-json': new MelissaJsonEncoder(),
  'melissa-gettoken': new MelissaGetTokenEncoder(),
  'melissa-service': new MelissaServiceEncoder(),
};

export const manifest: PluginManifest = {
  name: 'melissa',
  styles: [{ name: 'melissa', kind: 'opaque', settingsSchema, settingsRequired: false, check }],
  encoders: Object.keys(ENCODERS),
};

/** Registers the `melissa` token style and its four reply encoders. */
export default new ContainerModule(({ bind }) => {
  bind<TokenStyle>(TYPES.TokenStyle).toConstantValue(new MelissaStyle()).whenNamed('melissa');
  for (const [name, encoder] of Object.entries(ENCODERS)) bind<ReplyEncoder>(TYPES.ReplyEncoder).toConstantValue(encoder).whenNamed(name);
  bind<PluginManifest>(TYPES.PluginManifest).toConstantValue(manifest);
});
