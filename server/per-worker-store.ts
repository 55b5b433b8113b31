import type { PolicyIssue } from '../core/errors.js';
import type { GuardDeps } from '../core/guard.js';
import type { Policy } from '../core/policy/types.js';
import type { PluginRegistry } from '../core/registry.js';

/**
 * What keeps a policy from being served by workers that each have their own memory store
 * (`serve --workers N --memory-per-worker`), one issue per reason; none for a stateless policy.
 *
 * Each worker would see a different store on each connection, so a policy is allowed only when
 * nothing it does needs the store: its style is self-contained (the token carries its record;
 * an opaque token issued by one worker is unknown to the others), and each of its guards
 * declares itself `stateless` (a lockout counted per worker lets N times the threshold through,
 * a single-use token could be used once per worker). A guard that does not say so is taken to
 * keep state. Revocation is checked apart (it is not a policy's choice: see `serve`).
 *
 * @example
 * ```ts
 * const issues = perWorkerStoreIssues(booted.engine.policies, booted.registry, { store: booted.store, clock, lockoutStarted: () => {} });
 * if (issues.length) throw new PolicyInvalidError(issues);
 * ```
 */
export function perWorkerStoreIssues(policies: readonly Policy[], registry: PluginRegistry, deps: GuardDeps): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const at = (policy: Policy, path: string, message: string): PolicyIssue => ({ file: policy.source, line: 1, col: 1, path, message });
  for (const policy of policies) {
    if (registry.styles.get(policy.style)?.kind !== 'self-contained') {
      issues.push(at(policy, '/style', `policy ${policy.id}: style ${policy.style} keeps its tokens in the store, so a token issued by one worker would be unknown to the others`));
    }
    for (const guard of registry.guardsInOrder) {
      // Whether the policy uses the rule is the guard's own decision (create returns undefined when it does not).
      if (guard.stateless === true || guard.create(policy, deps) === undefined) continue;
      const key = Object.keys(guard.keys)[0];
      issues.push(at(policy, key === undefined ? '' : `/${key}`, `policy ${policy.id}: the ${guard.name} rule keeps state in the store, which each worker would keep apart`));
    }
  }
  return issues;
}
