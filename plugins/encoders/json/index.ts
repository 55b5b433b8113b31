import { definePlugin } from '../../../core/plugin.js';
import { JsonEncoder } from './json-encoder.js';

export { JsonEncoder } from './json-encoder.js';

/** The generic `json` reply encoder. */
const plugin = definePlugin({ name: 'json-encoder', encoders: { json: new JsonEncoder() } });

export const { manifest } = plugin;
export default plugin;
