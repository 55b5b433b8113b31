import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { GuardPlugin } from '../guard.js';
import type { StyleManifest } from '../ports.js';

/** The repository root, found from this module (works from `core/` and from `dist/core/`). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) throw new TypeError('tokensmith: package.json not found above the policy module');
      dir = parent;
    }
  }
}

/** Path of the base JSON Schema file (editors can point at it). */
export const BASE_SCHEMA_PATH = join(packageRoot(), 'core', 'policy', 'policy.schema.json');

let base: Readonly<Record<string, unknown>> | undefined;

/** The base schema (generic policy keys, no style blocks). */
export function baseSchema(): Readonly<Record<string, unknown>> {
  base ??= JSON.parse(readFileSync(BASE_SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
  return base;
}

/** What the full policy schema is made of besides the base: the installed styles and guards. */
export interface SchemaParts {
  readonly styles: ReadonlyMap<string, StyleManifest>;
  readonly guards: ReadonlyMap<string, GuardPlugin>;
}

/**
 * The full schema for a set of plugins: the base schema (the keys every policy has), a property
 * for each key a guard owns, and for each style a property named after it whose schema is the
 * style's own settings schema. A name claimed twice is a plugin error.
 *
 * @example buildPolicySchema(registry) // → JSON Schema object for ajv or an editor
 */
export function buildPolicySchema(parts: SchemaParts): Record<string, unknown> {
  const schema = structuredClone(baseSchema()) as Record<string, unknown> & { properties: Record<string, unknown> };
  for (const guard of parts.guards.values()) {
    for (const [key, fragment] of Object.entries(guard.keys)) {
      if (key in schema.properties) throw new TypeError(`guard "${guard.name}" claims the policy key "${key}", which is already taken`);
      schema.properties[key] = structuredClone(fragment);
    }
  }
  for (const [name, manifest] of parts.styles) {
    if (name in schema.properties) throw new TypeError(`style name "${name}" collides with a policy key`);
    schema.properties[name] = { ...structuredClone(manifest.settingsSchema), description: `settings of the ${name} style` };
  }
  return schema;
}
