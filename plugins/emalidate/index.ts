import { ContainerModule } from 'inversify';
import { TYPES } from '../../core/ids.js';
import type { PluginManifest, TokenStyle } from '../../core/ports.js';
import { check, settingsSchema } from './schema.js';
import { EmalidateStyle } from './style.js';

export { EmalidateStyle } from './style.js';
export { settingsSchema, check, HMAC_ALGORITHMS, type EmalidateSettings } from './schema.js';

export const manifest: PluginManifest = {
  name: 'emalidate',
  styles: [{ name: 'emalidate', kind: 'self-contained', settingsSchema, settingsRequired: true, check }],
};

/** Registers the `emalidate` token style (HS256 JWTs). */
export default new ContainerModule(({ bind }) => {
  bind<TokenStyle>(TYPES.TokenStyle).toConstantValue(new EmalidateStyle()).whenNamed('emalidate');
  bind<PluginManifest>(TYPES.PluginManifest).toConstantValue(manifest);
});
