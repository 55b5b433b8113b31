import { assemble, type Assembly } from '../core/container.js';
import { loadPluginModule } from '../core/plugin-loader.js';
import { loadPolicies } from '../core/policy/load.js';
import type { PolicyIssue } from '../core/errors.js';
import type { Clock, Random } from '../core/ports.js';
import { builtinModules } from '../plugins/index.js';

export interface BootOptions {
  /** Policy files or directories. */
  readonly policies: readonly string[];
  readonly store?: string;
  /** Outside plugin modules, by path. */
  readonly plugins?: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly clock?: Clock;
  readonly random?: Random;
}

export interface Booted extends Assembly {
  /** Load warnings (demo defaults used, …), to be shown loudly. */
  readonly warnings: readonly PolicyIssue[];
}

/**
 * Everything a host or a command needs: the container with the built-in and outside plugins,
 * the chosen store, and the engine serving the loaded policies. Throws `PolicyInvalidError`
 * (every issue of every file), `PluginUnknownError` or `PluginLoadError`.
 */
export async function boot(options: BootOptions): Promise<Booted> {
  const outside = [];
  for (const path of options.plugins ?? []) outside.push(await loadPluginModule(path));
  const assembly = await assemble({
    modules: [...builtinModules, ...outside],
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.random === undefined ? {} : { random: options.random }),
  });
  try {
    const { policies, warnings } = await loadPolicies(options.policies, {
      catalog: assembly.registry,
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    await assembly.engine.load(policies);
    return { ...assembly, warnings };
  } catch (err) {
    await assembly.store.close();
    throw err;
  }
}
