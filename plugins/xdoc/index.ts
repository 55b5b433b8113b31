import { ContainerModule } from 'inversify';
import { TYPES } from '../../core/ids.js';
import type { PluginManifest, ReplyEncoder, TokenStyle } from '../../core/ports.js';
import { XdocJsonEncoder, XdocQueryEncoder } from './encoders.js';
import { XdocXwsEncoder } from './xws.js';
import { check, settingsSchema } from './schema.js';
import { XdocStyle } from './style.js';

export { XdocStyle, PARAM } from './style.js';
export { XdocXwsEncoder, headerJson } from './xws.js';
export { KeySet, keyBytes, GCM_NONCE, GCM_TAG } from './cipher.js';
export { passwordDeriveBytes, pbkdf2Sha1 } from './derive.js';
export { parseGenDt, formatGenDt } from './gendt.js';
export { parsePlaintext, buildPlaintext, plaintextBuilder, SECURITY_FIELDS, ROOTS } from './plaintext.js';
export { settingsSchema, check, USER_FIELDS, type XdocSettings, type KeySetSettings } from './schema.js';

const ENCODERS: Readonly<Record<string, ReplyEncoder>> = {
  'xdoc-json': new XdocJsonEncoder(),
  'xdoc-query': new XdocQueryEncoder(),
  'xdoc-xws': new XdocXwsEncoder(),
};

export const manifest: PluginManifest = {
  name: 'xdoc',
  styles: [{ name: 'xdoc', kind: 'self-contained', settingsSchema, settingsRequired: true, check }],
  encoders: Object.keys(ENCODERS),
};

/** Registers the `xdoc` token style (XST / XUT) and its three reply encoders (`json`, `query`, `xws`). */
export default new ContainerModule(({ bind }) => {
  bind<TokenStyle>(TYPES.TokenStyle).toConstantValue(new XdocStyle()).whenNamed('xdoc');
  for (const [name, encoder] of Object.entries(ENCODERS)) bind<ReplyEncoder>(TYPES.ReplyEncoder).toConstantValue(encoder).whenNamed(name);
  bind<PluginManifest>(TYPES.PluginManifest).toConstantValue(manifest);
});
