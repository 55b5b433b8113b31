import { formatDuration } from '../duration.js';
import { encoderNameFor } from '../guards/output.js';
import type { PolicyIssue } from '../errors.js';
import type { StyleManifest } from '../ports.js';
import { didYouMean } from '../suggest.js';
import type { PolicyDocument } from './document.js';
import type { Policy } from './types.js';

/** What a semantic check sees. */
export interface CheckContext {
  readonly document: PolicyDocument;
  /** The raw (schema-valid) data. */
  readonly data: Readonly<Record<string, any>>;
  /** The policy built from it. */
  readonly policy: Policy;
  readonly styles: ReadonlyMap<string, StyleManifest>;
  readonly encoders: ReadonlySet<string>;
}

export interface SemanticCheck {
  readonly name: string;
  /**
   * The top-level keys whose values the check reads (`$style`: the style's settings block). It
   * runs in the same pass as the schema, unless the schema found a problem under one of them
   * (then its reading would be about a value that is already reported as wrong).
   */
  readonly needs: readonly string[];
  /** Whether the check means anything only for a known style. */
  readonly needsKnownStyle: boolean;
  run(ctx: CheckContext): PolicyIssue[];
}

const known = (names: Iterable<string>): string => [...names].sort().join(', ') || '(none)';

/** The formats a policy of `style` can use: the style's own encoders without the prefix, and the generic ones. */
const formatsOf = (style: string, encoders: ReadonlySet<string>): string[] =>
  [...encoders].map((name) => (name.startsWith(`${style}-`) ? name.slice(style.length + 1) : name));

/** The named semantic checks, in the order they run (after the schema has passed). */
export const SEMANTIC_CHECKS: readonly SemanticCheck[] = [
  {
    name: 'style-known',
    needs: ['style'],
    needsKnownStyle: false,
    run: ({ document, policy, styles }) =>
      styles.has(policy.style)
        ? []
        : [document.issue(['style'], `unknown style "${policy.style}"; ${didYouMean(policy.style, styles.keys())}known styles: ${known(styles.keys())}`)],
  },
  {
    name: 'style-settings',
    needs: ['style'],
    needsKnownStyle: true,
    run: ({ document, data, policy, styles }) => {
      const issues: PolicyIssue[] = [];
      const manifest = styles.get(policy.style);
      if (manifest?.settingsRequired && data[policy.style] === undefined) {
        issues.push(document.issue([], `missing the "${policy.style}" settings block that style ${policy.style} requires`));
      }
      for (const name of styles.keys()) {
        if (name !== policy.style && data[name] !== undefined) {
          issues.push(document.issue([name], `block "${name}" does not apply to style "${policy.style}"`, { key: true }));
        }
      }
      return issues;
    },
  },
  {
    name: 'ttl-order',
    needs: ['ttl'],
    needsKnownStyle: false,
    run: ({ document, policy }) => {
      const { minMs, defaultMs, maxMs } = policy.ttl;
      const issues: PolicyIssue[] = [];
      const [min, dflt, max] = [minMs, defaultMs, maxMs].map(formatDuration);
      if (minMs > maxMs) issues.push(document.issue(['ttl', 'min'], `expected min ≤ max; got min ${min} and max ${max}`));
      if (defaultMs < minMs || defaultMs > maxMs) {
        issues.push(document.issue(['ttl', 'default'], `expected min ≤ default ≤ max; got default ${dflt} with min ${min} and max ${max}`));
      }
      return issues;
    },
  },
  {
    name: 'output',
    needs: ['style', 'output'],
    needsKnownStyle: true,
    run: ({ document, policy, encoders }) => {
      const issues: PolicyIssue[] = [];
      if (!policy.output.allowed.includes(policy.output.default)) {
        issues.push(document.issue(['output', 'default'], `default format "${policy.output.default}" is not in allowed (${policy.output.allowed.join(', ')})`));
      }
      policy.output.allowed.forEach((format, i) => {
        if (encoderNameFor(policy.style, format, encoders) === undefined) {
          const path = document.data && (document.data as any).output?.allowed ? ['output', 'allowed', i] : ['output'];
          issues.push(
            document.issue(
              path,
              `no reply encoder for format "${format}" (looked for "${policy.style}-${format}" and "${format}"); ${didYouMean(format, formatsOf(policy.style, encoders))}registered encoders: ${known(encoders)}`,
            ),
          );
        }
      });
      return issues;
    },
  },
  {
    name: 'credentials',
    needs: ['credentials', 'lockout'],
    needsKnownStyle: false,
    run: ({ document, policy }) => {
      const issues: PolicyIssue[] = [];
      const seen = new Set<string>();
      policy.credentials?.forEach((credential, i) => {
        if (credential.id === undefined) return;
        if (seen.has(credential.id)) issues.push(document.issue(['credentials', i, 'id'], `credential id "${credential.id}" is listed twice`));
        seen.add(credential.id);
      });
      if (policy.lockout?.per.includes('credential') && policy.credentials === undefined) {
        const path = (document.data as any).lockout?.per === undefined ? ['lockout'] : ['lockout', 'per'];
        issues.push(document.issue(path, 'lockout per credential needs a credentials list'));
      }
      return issues;
    },
  },
  {
    name: 'routes',
    needs: ['route', 'protectedRoute', 'output'],
    needsKnownStyle: false,
    run: ({ document, data, policy }) => {
      const issues: PolicyIssue[] = [];
      const seen = new Set<string>();
      for (const [which, list] of [['route', policy.routes], ['protectedRoute', policy.protectedRoutes]] as const) {
        list.forEach((route, i) => {
          const at = (key: string) => (Array.isArray(data[which]) ? [which, i, key] : [which, key]);
          if (seen.has(route.path)) issues.push(document.issue(at('path'), `path ${route.path} is used twice in this policy`));
          seen.add(route.path);
          if (route.format !== undefined && !policy.output.allowed.includes(route.format.toLowerCase())) {
            issues.push(document.issue(at('format'), `format "${route.format}" is not in output.allowed (${policy.output.allowed.join(', ')})`));
          }
        });
      }
      return issues;
    },
  },
  {
    name: 'style-check',
    needs: ['style', '$style', 'credentials', 'route', 'ttl'],
    needsKnownStyle: true,
    run: ({ document, data, policy, styles }) => {
      const manifest = styles.get(policy.style);
      const check = manifest?.check;
      // A required block that is missing is reported as such; checking its absent settings would only echo that.
      if (check === undefined || (manifest?.settingsRequired && data[policy.style] === undefined)) return [];
      return check(policy.settings, policy).map(({ path, message }) => {
        const relative = path === '' ? [] : path.slice(1).split('/').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
        return document.issue([policy.style, ...relative], message);
      });
    },
  },
];
