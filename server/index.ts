/** The Koa host: app factory, the token-protection middleware, and the boot helper. */
export { createApp, type AppOptions } from './app.js';
export { requireToken, type TokenState, type RequireTokenOptions } from './require-token.js';
export { TrustedProxies, clientAddress } from './client-ip.js';
export { boot, type BootOptions, type Booted } from './bootstrap.js';
export { main, type CliIO } from './cli.js';
export { builtinModules } from '../plugins/index.js';
export { createLogger, flushLogger, scrubberFor, policySecrets, type LoggerOptions, type Scrubber } from './logging.js';
export { Metrics, type MetricsOptions, type RequestKind } from './metrics.js';
export { requestLog } from './request-log.js';
export { reloader, watchPolicies, type Reloader, type ReloadOptions, type ReloadResult, type WatchOptions } from './reload.js';
export { drainable, settling, type Drainable, type Drained, type Settling, type SettlingHandler } from './lifecycle.js';
