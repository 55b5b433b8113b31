import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every `readonly code = 'ERR_…'` in the source (core, plugins, server). */
function codesInSource(): Set<string> {
  const found = new Set<string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/readonly code = '(ERR_[A-Z0-9_]+)'/g)) found.add(m[1] as string);
      }
    }
  };
  for (const dir of ['core', 'plugins', 'server']) walk(dir);
  return found;
}

/** Every code in the first column of a table row of docs/errors.md. */
function codesInDoc(): Set<string> {
  const doc = readFileSync('docs/errors.md', 'utf8');
  return new Set([...doc.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1] as string));
}

describe('docs/errors.md', () => {
  it('documents every error code in the source, and nothing else', () => {
    const source = codesInSource();
    const doc = codesInDoc();
    expect(source.size).to.be.greaterThan(20);
    expect([...source].filter((c) => !doc.has(c)), 'codes missing from docs/errors.md').to.deep.equal([]);
    expect([...doc].filter((c) => !source.has(c)), 'documented codes that no longer exist').to.deep.equal([]);
  });
  it('lists each code once', () => {
    const doc = readFileSync('docs/errors.md', 'utf8');
    const rows = [...doc.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(rows.length).to.equal(new Set(rows).size);
  });
});
