import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ContainerModule } from 'inversify';
import { PluginLoadError } from './errors.js';

function isContainerModule(value: unknown): value is ContainerModule {
  // Duck-typed: an outside plugin may have its own copy of inversify.
  return typeof value === 'object' && value !== null && typeof (value as ContainerModule).load === 'function';
}

/**
 * Loads an outside plugin by path (`--plugin ./my-plugin.js`). The module's default export (or
 * its export named `module`) is what `definePlugin` returns; a hand-written inversify
 * `ContainerModule` that binds its own `PluginManifest` is accepted too.
 */
export async function loadPluginModule(path: string, cwd: string = process.cwd()): Promise<ContainerModule> {
  const file = resolve(cwd, path);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new PluginLoadError(`cannot load plugin ${path}: ${(err as Error).message}`, { cause: err });
  }
  const candidate = loaded['default'] ?? loaded['module'];
  if (!isContainerModule(candidate)) {
    throw new PluginLoadError(`plugin ${path} does not export a ContainerModule as default (or as "module")`);
  }
  return candidate;
}
