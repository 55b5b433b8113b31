import { ContainerModule } from 'inversify';
import { TYPES } from '../../core/ids.js';
import type { PluginManifest, ReplyEncoder, TokenStyle } from '../../core/ports.js';
import { ElectaCsvEncoder, ElectaXmlEncoder } from './encoders.js';
import { ElectaStyle } from './style.js';

export { ElectaStyle } from './style.js';
export { electaFailure } from './codes.js';

/** Electa has no settings of its own: TTL, lockout and credentials are generic policy keys. */
export const settingsSchema = { type: 'object', additionalProperties: false, properties: {} } as const;

export const manifest: PluginManifest = {
  name: 'electa',
  styles: [{ name: 'electa', kind: 'opaque', settingsSchema, settingsRequired: false }],
  encoders: ['electa-xml', 'electa-csv'],
};

/** Registers the `electa` token style and its XML and CSV reply encoders. */
export default new ContainerModule(({ bind }) => {
  bind<TokenStyle>(TYPES.TokenStyle).toConstantValue(new ElectaStyle()).whenNamed('electa');
  bind<ReplyEncoder>(TYPES.ReplyEncoder).toConstantValue(new ElectaXmlEncoder()).whenNamed('electa-xml');
  bind<ReplyEncoder>(TYPES.ReplyEncoder).toConstantValue(new ElectaCsvEncoder()).whenNamed('electa-csv');
  bind<PluginManifest>(TYPES.PluginManifest).toConstantValue(manifest);
});
