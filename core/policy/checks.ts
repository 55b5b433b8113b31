import { formatDuration } from '../duration.js';
import { encoderNameFor } from '../formats.js';
import type { PolicyIssue } from '../errors.js';
import type { StyleManifest } from '../ports.js';
import { didYouMean } from '../suggest.js';
import type { PolicyDocument } from './document.js';
import { foldPath } from './paths.js';
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

/** Parameters that carry a licence, key or token in the vendors' requests (Melissa `L` and `id`, Electa `AppKey` and `Token`, XDOC `XST`/`XUT`). */
const SECRET_PARAMS: ReadonlySet<string> = new Set(['l', 'id', 'appkey', 'token', 'xst', 'xut', 'client_secret', 'secret', 'password', 'access_token']);

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
    needs: ['credentials'],
    needsKnownStyle: false,
    run: ({ document, policy }) => {
      const issues: PolicyIssue[] = [];
      const seen = new Set<string>();
      policy.credentials?.forEach((credential, i) => {
        if (credential.id === undefined) return;
        if (seen.has(credential.id)) issues.push(document.issue(['credentials', i, 'id'], `credential id "${credential.id}" is listed twice`));
        seen.add(credential.id);
      });
      return issues;
    },
  },
  {
    name: 'routes',
    needs: ['route', 'protectedRoute', 'output'],
    needsKnownStyle: false,
    run: ({ document, data, policy }) => {
      const issues: PolicyIssue[] = [];
      const seen = new Map<string, string>();
      for (const [which, list] of [['route', policy.routes], ['protectedRoute', policy.protectedRoutes]] as const) {
        list.forEach((route, i) => {
          const at = (key: string) => (Array.isArray(data[which]) ? [which, i, key] : [which, key]);
          // The host finds a route with one lookup of the folded path, so paths that fold alike collide.
          const first = seen.get(foldPath(route.path));
          if (first === route.path) issues.push(document.issue(at('path'), `path ${route.path} is used twice in this policy`));
          else if (first !== undefined) issues.push(document.issue(at('path'), `path ${route.path} differs from ${first} only in letter case; routes are matched without regard to case, so only one can be served`));
          else seen.set(foldPath(route.path), route.path);
          if (route.format !== undefined && !policy.output.allowed.includes(route.format.toLowerCase())) {
            issues.push(document.issue(at('format'), `format "${route.format}" is not in output.allowed (${policy.output.allowed.join(', ')})`));
          }
        });
      }
      return issues;
    },
  },
  {
    name: 'log-params',
    needs: ['log'],
    needsKnownStyle: false,
    run: ({ document, policy }) =>
      policy.logParams.flatMap((name, i) =>
        SECRET_PARAMS.has(name.toLowerCase())
          ? [document.issue(['log', 'params', i], `log.params must not name ${name}: the vendors' clients send a secret or a token in it`)]
          : [],
      ),
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

/**
 * The longest lifetime a public route's tokens may have without a warning. A public route is one
 * whose caller proves no credential: its policy has none, or the route supplies it (`preset`, a
 * same-origin helper). Anyone who reaches it gets as many tokens as they ask for, and each opaque
 * one is a session the store holds for its whole lifetime.
 */
export const PUBLIC_LIFETIME_WARNING_MS = 3_600_000;

/** Named checks whose issues are warnings: the policy loads, and `check` and `serve` say why it may not be wise. */
export const ADVICE: readonly SemanticCheck[] = [
  {
    name: 'public-lifetime',
    needs: ['route', 'credentials', 'ttl'],
    needsKnownStyle: false,
    run: ({ document, data, policy }) => {
      const issues: PolicyIssue[] = [];
      policy.routes.forEach((route, i) => {
        const preset = route.preset !== undefined;
        if (!preset && policy.credentials !== undefined) return;
        // A preset route's tokens live the default (the caller's lifetime is ignored); elsewhere a caller may ask for the maximum.
        const [lifetime, setting] = preset ? [policy.ttl.defaultMs, 'ttl.default'] : [policy.ttl.maxMs, 'ttl.max'];
        if (lifetime <= PUBLIC_LIFETIME_WARNING_MS) return;
        const why = preset ? 'its credential is preset on the server' : 'the policy has no credentials';
        issues.push(
          document.issue(
            Array.isArray(data['route']) ? ['route', i] : ['route'],
            `route ${route.path} is public (${why}) and mints tokens that live ${formatDuration(lifetime)} (${setting}); ` +
              `anyone who reaches it can hold as many as they ask for: keep public tokens to ${formatDuration(PUBLIC_LIFETIME_WARNING_MS)} or less`,
          ),
        );
      });
      return issues;
    },
  },
];
