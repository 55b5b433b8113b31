import { ContainerModule } from 'inversify';
import { TYPES } from '../../../core/ids.js';
import type { PluginManifest, ReplyEncoder } from '../../../core/ports.js';
import { JsonEncoder } from './json-encoder.js';

export { JsonEncoder, describeError, errorHeaders } from './json-encoder.js';

export const manifest: PluginManifest = { name: 'json-encoder', encoders: ['json'] };

/** Registers the generic `json` reply encoder. */
export default new ContainerModule(({ bind }) => {
  bind<ReplyEncoder>(TYPES.ReplyEncoder).toConstantValue(new JsonEncoder()).whenNamed('json');
  bind<PluginManifest>(TYPES.PluginManifest).toConstantValue(manifest);
});
