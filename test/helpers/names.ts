import { assemble } from '../../core/container.js';
import { loadPluginModule } from '../../core/plugin-loader.js';
import { buildPolicySchema } from '../../core/policy/schema.js';
import type { PluginRegistry } from '../../core/registry.js';
import { builtinModules } from '../../plugins/index.js';

// The names tests expect in messages, taken from the registry and the policy schema rather
// than written out, so that a new built-in style, encoder, store or policy key needs no test edit.

/** The registry of the built-in plugins, plus outside ones given by path. */
export async function registryOf(plugins: readonly string[] = []): Promise<PluginRegistry> {
  const outside = await Promise.all(plugins.map((path) => loadPluginModule(path)));
  const { registry, store } = await assemble({ modules: [...builtinModules, ...outside] });
  await store.close();
  return registry;
}

/** The names of a registry as messages list them: sorted, comma-separated. */
export function listed(names: Iterable<string>): string {
  return [...names].sort().join(', ');
}

/** The top-level keys a policy may have, in the schema's order, as "unknown key" messages list them. */
export function policyKeys(registry: Pick<PluginRegistry, 'styles' | 'guards'>): string {
  return Object.keys(buildPolicySchema(registry)['properties'] as object).join(', ');
}
