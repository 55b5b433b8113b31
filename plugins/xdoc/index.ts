import { definePlugin } from '../../core/plugin.js';
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

/** The `xdoc` token style (XST / XUT) and its three reply encoders (`json`, `query`, `xws`). */
const plugin = definePlugin({
  name: 'xdoc',
  styles: { xdoc: { kind: 'self-contained', settingsSchema, settingsRequired: true, check, style: new XdocStyle() } },
  encoders: { 'xdoc-json': new XdocJsonEncoder(), 'xdoc-query': new XdocQueryEncoder(), 'xdoc-xws': new XdocXwsEncoder() },
});

export const { manifest } = plugin;
export default plugin;
