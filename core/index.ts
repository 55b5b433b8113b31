/**
 * tokensmith's public library surface: the engine, its contracts (ports) for plugin authors,
 * the error classes, and helpers. The Koa host is exported from `tokensmith/server`.
 */
export { Engine, PolicySet, type Issued, type Introspection } from './engine.js';
export { assemble, storeNameOf, type AssembleOptions, type Assembly } from './container.js';
export { PluginRegistry } from './registry.js';
export { loadPluginModule } from './plugin-loader.js';
export { describeError, jsonErrorReply, vendorCode, bearerChallenge } from './reply.js';
export { xml, xmlTemplate } from './xml.js';
export { definePlugin, type PluginDescription, type PluginModule, type StylePart, type EncoderPart, type StorePart } from './plugin.js';
export { TYPES } from './ids.js';
export { SystemClock, ManualClock } from './clock.js';
export { CryptoRandom } from './random.js';
export { parseDuration, formatDuration, DURATION_PATTERN } from './duration.js';
export { tokenRequestFrom } from './request.js';
export { CredentialIndex } from './credentials.js';
export { clampTtl, lifetimeFor } from './guards/ttl.js';
export { bindAddress, checkBinding, normalizeAddress } from './guards/ip.js';
export { LockoutGuard, type LockoutSubject } from './guards/lockout.js';
export { chooseFormat, encoderNameFor } from './guards/output.js';
export { foldPath } from './policy/paths.js';
export { loadPolicies, loadPolicyFile, loadPolicyText, type LoadOptions, type LoadResult, type PolicyCatalog } from './policy/load.js';
export type { Policy, Credential, HttpMethod, IpBindingMode } from './policy/types.js';
export { encodesVerified, hasInfoRoutes, isSelfContained } from './ports.js';
export type {
  Clock, Random, Store, StoreFactory, TokenRequest, GrantRequest, Grant, TokenRecord, VerifyExpectations, StyleInstance,
  SelfContainedStyle, MintedToken, TokenStyle, Outcome, Reply, ReplyEncoder, StyleManifest, PluginManifest, Logger,
  EngineObserver, InfoRoutes, InfoRoute, Verified, VerifiedEncoder,
} from './ports.js';
export {
  TokenSmithError, isTokenSmithError, formatPolicyIssue, PolicyInvalidError, PluginUnknownError, PluginLoadError,
  PolicyUnknownError, RequestInvalidError, FormatNotAllowedError, CredentialInvalidError, LockedOutError,
  ScopeNotAllowedError, IpBindingError, TokenMalformedError, TokenAlgorithmError, TokenKeyUnknownError,
  TokenSignatureError, TokenExpiredError, TokenClaimError, TokenRevokedError, TokenReusedError, TokenUnknownError,
  TokenMissingError, TokenUndecryptableError, TokenContextMismatchError, TokenAddressMismatchError, TokenCredentialMismatchError, TokenScopeError, AdminUnauthorizedError,
  MetricsUnauthorizedError,
  StoreUnavailableError, StoreFullError, StoreOptionsInvalidError, NotFoundError, MethodNotAllowedError, BodyTooLargeError, BodyInvalidError,
  InternalError,
  type ErrorDetails, type PolicyIssue, type ErrorCode,
} from './errors.js';
