import { foldPath } from '../../core/policy/paths.js';
import type { Policy } from '../../core/policy/types.js';

/** The package names Melissa's documentation lists; a policy may add newer ones. */
export const KNOWN_PACKAGES = [
  'pkgExpressEntry', 'pkgBorgCheck', 'pkgBorgVerify', 'pkgBorgMoveUpdate', 'pkgBorgAppend', 'pkgBorgGeoCode',
  'pkgBorgGeoPoint', 'GlobalExpressEntry',
] as const;

/**
 * JSON Schema of a policy's `melissa:` block.
 *
 * @example
 * ```yaml
 * melissa: { tokenBytes: 24, version: 3.0.0, packages: [pkgExpressEntry, GlobalExpressEntry] }
 * ```
 */
export const settingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    version: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
      description: 'what getversion answers (as Version and tokenServerVersion); default 3.0.0',
    },
    tokenBytes: { type: 'integer', minimum: 16, maximum: 64, description: 'random bytes after "T:" (default 24 = 192 bits; at least 16 = 128 bits)' },
    packages: {
      type: 'array',
      items: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]*$' },
      uniqueItems: true,
      minItems: 1,
      description: 'package names tokens may carry (default: the documented list)',
    },
  },
} as const;

export interface MelissaSettings {
  readonly version?: string;
  readonly tokenBytes?: number;
  readonly packages?: readonly string[];
}

/**
 * Where Melissa's SDKs ask for the version: the issuing route's last segment `RequestToken`
 * (any case) replaced by `getversion`. `undefined` for a route of another shape.
 */
export function versionPathOf(path: string): string | undefined {
  const slash = path.lastIndexOf('/');
  return path.slice(slash + 1).toLowerCase() === 'requesttoken' ? `${path.slice(0, slash)}/getversion` : undefined;
}

type CheckedPolicy = Pick<Policy, 'routes' | 'protectedRoutes'> & { credentials?: readonly { scopes?: readonly string[] }[] };

/** Every credential's packages must be known packages; a getversion path must not be a route the policy declares. */
export function check(settings: Readonly<Record<string, unknown>>, policy: CheckedPolicy) {
  const known = new Set((settings as MelissaSettings).packages ?? KNOWN_PACKAGES);
  const issues: { path: string; message: string }[] = [];
  policy.credentials?.forEach((credential, i) =>
    credential.scopes?.forEach((scope) => {
      if (!known.has(scope)) issues.push({ path: '', message: `credentials/${i}: unknown package "${scope}"; known: ${[...known].join(', ')}` });
    }),
  );
  const declared = new Set([...policy.routes, ...policy.protectedRoutes].map((route) => foldPath(route.path)));
  for (const route of policy.routes) {
    const version = versionPathOf(route.path);
    if (version !== undefined && declared.has(foldPath(version))) {
      issues.push({ path: '', message: `route ${route.path}: ${version} answers Melissa's getversion there, so no route may use that path` });
    }
  }
  return issues;
}
