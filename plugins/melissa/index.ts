import { definePlugin } from '../../core/plugin.js';
import { MelissaGetTokenEncoder, MelissaJsonEncoder, MelissaServiceEncoder, MelissaXmlEncoder } from './encoders.js';
import { check, settingsSchema } from './schema.js';
import { MelissaStyle } from './style.js';

export { MelissaStyle, parseLifetime } from './style.js';
export { melissaCode } from './codes.js';
export { KNOWN_PACKAGES, settingsSchema } from './schema.js';

/** The `melissa` token style and its four reply encoders. */
const plugin = definePlugin({
  name: 'melissa',
  styles: [{ name: 'melissa', kind: 'opaque', settingsSchema, settingsRequired: false, check, style: new MelissaStyle() }],
  encoders: [
    { name: 'melissa-xml', encoder: new MelissaXmlEncoder() },
    { name: 'melissa-json', encoder: new MelissaJsonEncoder() },
    { name: 'melissa-gettoken', encoder: new MelissaGetTokenEncoder() },
    { name: 'melissa-service', encoder: new MelissaServiceEncoder() },
  ],
});

export const { manifest } = plugin;
export default plugin;
