import type { GuardPlugin } from '../../core/guard.js';
import type { PluginModule } from '../../core/plugin.js';
import ipBinding, { ipBindingGuard } from './ip-binding/index.js';
import lockout, { lockoutGuard } from './lockout/index.js';
import maxUses, { maxUsesGuard } from './max-uses/index.js';
import output, { outputGuard } from './output/index.js';
import rateLimit, { rateLimitGuard } from './rate-limit/index.js';
import scopes, { scopesGuard } from './scopes/index.js';
import singleUse, { singleUseGuard } from './single-use/index.js';
import ttl, { ttlGuard } from './ttl/index.js';

/** The built-in guards (each in its own folder, registered like any plugin). */
export const builtinGuards: readonly GuardPlugin[] = [ttlGuard, ipBindingGuard, lockoutGuard, outputGuard, scopesGuard, singleUseGuard, maxUsesGuard, rateLimitGuard];

/** Their container modules (in this order their keys appear in the policy schema). */
export const guardModules: readonly PluginModule[] = [ttl, ipBinding, lockout, output, scopes, singleUse, maxUses, rateLimit];
