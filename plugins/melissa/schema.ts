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
 * melissa: { tokenBytes: 24, packages: [pkgExpressEntry, GlobalExpressEntry] }
 * ```
 */
export const settingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
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
  readonly tokenBytes?: number;
  readonly packages?: readonly string[];
}

/** Every credential's packages must be known packages. */
export function check(settings: Readonly<Record<string, unknown>>, policy: { credentials?: readonly { scopes?: readonly string[] }[] }) {
  const known = new Set((settings as MelissaSettings).packages ?? KNOWN_PACKAGES);
  const issues: { path: string; message: string }[] = [];
  policy.credentials?.forEach((credential, i) =>
    credential.scopes?.forEach((scope) => {
      if (!known.has(scope)) issues.push({ path: '', message: `credentials/${i}: unknown package "${scope}"; known: ${[...known].join(', ')}` });
    }),
  );
  return issues;
}
