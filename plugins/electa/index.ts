import { definePlugin } from '../../core/plugin.js';
import { ElectaCsvEncoder, ElectaXmlEncoder } from './encoders.js';
import { ElectaStyle } from './style.js';

export { ElectaStyle } from './style.js';
export { electaFailure } from './codes.js';

/** Electa has no settings of its own: TTL, lockout and credentials are generic policy keys. */
export const settingsSchema = { type: 'object', additionalProperties: false, properties: {} } as const;

/** The `electa` token style and its XML and CSV reply encoders. */
const plugin = definePlugin({
  name: 'electa',
  styles: { electa: { kind: 'opaque', settingsSchema, style: new ElectaStyle() } },
  encoders: { 'electa-xml': new ElectaXmlEncoder(), 'electa-csv': new ElectaCsvEncoder() },
});

export const { manifest } = plugin;
export default plugin;
