import { definePlugin } from '../../core/plugin.js';
import { check, settingsSchema } from './schema.js';
import { EmalidateStyle } from './style.js';

export { EmalidateStyle } from './style.js';
export { settingsSchema, check, HMAC_ALGORITHMS, type EmalidateSettings } from './schema.js';

/** The `emalidate` token style (HS256 JWTs). */
const plugin = definePlugin({
  name: 'emalidate',
  styles: { emalidate: { kind: 'self-contained', settingsSchema, settingsRequired: true, check, style: new EmalidateStyle() } },
});

export const { manifest } = plugin;
export default plugin;
