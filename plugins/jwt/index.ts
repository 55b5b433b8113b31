import { definePlugin } from '../../core/plugin.js';
import { check, publishedKeyIds, settingsSchema } from './schema.js';
import { JwtStyle } from './style.js';

export { JwtStyle } from './style.js';
export { settingsSchema, check, PUBLIC_KEY_ALGORITHMS, SECRET_ALGORITHMS, type JwtSettings } from './schema.js';

/** The `jwt` token style (public-key JWTs with a JWKS, and HS* for symmetry with emalidate). */
const plugin = definePlugin({
  name: 'jwt',
  styles: { jwt: { kind: 'self-contained', settingsSchema, settingsRequired: true, check, publishedKeyIds, style: new JwtStyle() } },
});

export const { manifest } = plugin;
export default plugin;
