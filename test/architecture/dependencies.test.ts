import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// The dependency direction docs/architecture.md states: core/ depends on nothing outside it,
// a plugin on core/ and its own folder only, and only plugins/index.ts (the list of built-ins)
// reaches into every plugin.

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The relative imports of a file, resolved to paths from the repository root. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\bfrom '(\.[^']+)'|\bimport\('(\.[^']+)'\)/g)].map((m) => relative('.', resolve(dirname(file), (m[1] ?? m[2]) as string)));
}

/** The plugin folder a file belongs to: the nearest folder under plugins/ with an index.ts. */
function pluginOf(file: string): string {
  let dir = dirname(file);
  while (dir !== 'plugins' && !existsSync(join(dir, 'index.ts'))) dir = dirname(dir);
  return dir;
}

describe('dependency direction', () => {
  it('core/ imports nothing outside core/', () => {
    const outside = sources('core').flatMap((file) => importsOf(file).filter((to) => !to.startsWith('core/')).map((to) => `${file} → ${to}`));
    expect(outside).to.deep.equal([]);
  });

  it('a plugin imports core/ and its own folder only, never another plugin or server/', () => {
    const files = sources('plugins').filter((file) => file !== join('plugins', 'index.ts'));
    expect(files.length).to.be.greaterThan(20);
    const wrong = files.flatMap((file) => {
      const own = pluginOf(file);
      return importsOf(file)
        .filter((to) => !to.startsWith('core/') && !to.startsWith(`${own}/`))
        .map((to) => `${file} → ${to}`);
    });
    expect(wrong).to.deep.equal([]);
  });
});
