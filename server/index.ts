/**
 * The Koa host (`tokensmith/server`): `boot` (plugins + store + policies → engine), the app
 * factory, the middleware that protects a host's own routes, the error middleware that renders
 * tokensmith's errors in a host's own app, and the logger `serve` uses.
 */
export { boot, type BootOptions, type Booted } from './bootstrap.js';
export { createApp, type AppOptions } from './app.js';
export { requireToken, type TokenState, type RequireTokenOptions } from './require-token.js';
export { errorMiddleware } from './error-middleware.js';
export { TrustedProxies } from './client-ip.js';
export { builtinModules } from '../plugins/index.js';
export { createLogger, flushLogger, type LoggerOptions } from './logging.js';
export { Metrics, type MetricsOptions } from './metrics.js';
export { loadAdminCredentials, type AdminAction, type AdminCredential } from './admin-credentials.js';
export { AuditTrail, type AuditEvent, type AuditFields, type AuditTrailOptions } from './audit.js';
export { auditFile, auditStream, type AuditSink } from './audit-sink.js';
