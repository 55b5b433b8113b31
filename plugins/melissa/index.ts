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
  styles: { melissa: { kind: 'opaque', settingsSchema, check, style: new MelissaStyle() } },
  encoders: {
    'melissa-xml': new MelissaXmlEncoder(),
    'melissa-json': new MelissaJsonEncoder(),
    'melissa-gettoken': new MelissaGetTokenEncoder(),
    'melissa-service': new MelissaServiceEncoder(),
  },
});

export const { manifest } = plugin;
export default plugin;
