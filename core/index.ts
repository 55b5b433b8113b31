/**
 * tokensmith's public library surface (`tokensmith`): the engine and policy loading, the
 * contracts (ports) and helpers for plugin authors, and the error classes. The Koa host is
 * `tokensmith/server`, the conformance kit `tokensmith/testkit`. Everything else is internal
 * and may change in any release.
 */
export { Engine, type PolicySet, type Issued, type Introspection, type BulkRevoked, type TokenOwner } from './engine.js';
export type { PolicyRuntime } from './runtime.js';
export { GUARD_HOOKS, type Guard, type GuardDeps, type GuardHook, type GuardPlugin, type IssueAttempt, type VerifyAttempt, type JsonSchema } from './guard.js';
export { assemble, type AssembleOptions, type Assembly } from './container.js';
export { loadPolicies, loadPolicyFile, loadPolicyText, type LoadOptions, type LoadResult, type PolicyCatalog } from './policy/load.js';
export type { Policy, Credential, HttpMethod, IpBindingMode } from './policy/types.js';
export { tokenRequestFrom } from './request.js';
export { definePlugin, type PluginDefinition, type StyleDefinition, type PluginModule } from './plugin.js';
export { describeError, jsonErrorReply, vendorCode, vendorStatus } from './reply.js';
export { TYPES } from './ids.js';
export { SystemClock, ManualClock } from './clock.js';
export { CryptoRandom } from './random.js';
export { parseDuration, formatDuration, DURATION_PATTERN } from './duration.js';
export { encodesVerified, hasBulkRevocation, hasInfoRoutes, isSelfContained, publishesKeys } from './ports.js';
export type {
  Clock, Random, Store, StoreFactory, TokenRequest, GrantRequest, Grant, TokenRecord, VerifyExpectations, StyleInstance,
  SelfContainedStyle, MintedToken, TokenStyle, Outcome, Reply, ReplyEncoder, StyleManifest, PluginManifest, Logger,
  EngineObserver, InfoRoutes, InfoRoute, Verified, VerifiedEncoder, BulkRevocation, SessionOwner, KeyPublisher, PublishedKeys,
} from './ports.js';
export {
  TokenSmithError, isTokenSmithError, hasCode, formatPolicyIssue, PolicyInvalidError, PluginUnknownError, PluginLoadError,
  PolicyUnknownError, RequestInvalidError, FormatNotAllowedError, CredentialInvalidError, LockedOutError, RateLimitedError,
  AddressNotAllowedError,
  ScopeNotAllowedError, IpBindingError, TokenMalformedError, TokenAlgorithmError, TokenKeyUnknownError,
  TokenSignatureError, TokenExpiredError, TokenClaimError, TokenRevokedError, TokenReusedError, TokenUnknownError,
  TokenMissingError, TokenUndecryptableError, TokenContextMismatchError, TokenAddressMismatchError, TokenCredentialMismatchError, TokenScopeError, AdminUnauthorizedError,
  MetricsUnauthorizedError, RevokeUnsupportedError,
  StoreUnavailableError, StoreFullError, StoreOptionsInvalidError, NotFoundError, MethodNotAllowedError, BodyTooLargeError, BodyInvalidError,
  InternalError,
  type ErrorDetails, type PolicyIssue, type ErrorCode,
} from './errors.js';
