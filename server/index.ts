/** The Koa host: app factory, the token-protection middleware, and the boot helper. */
export { createApp, type AppOptions } from './app.js';
export { requireToken, type TokenState, type RequireTokenOptions } from './require-token.js';
export { TrustedProxies, clientAddress } from './client-ip.js';
export { boot, type BootOptions, type Booted } from './bootstrap.js';
export { main, type CliIO } from './cli.js';
export { builtinModules } from '../plugins/index.js';
