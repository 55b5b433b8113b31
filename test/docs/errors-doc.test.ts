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

/** One instance of every error class, with each `claim` given (PolicyInvalidError takes issues instead). */
async function everyError(claims: readonly (string | undefined)[]) {
  const errors = await import('../../core/errors.js');
  type Err = InstanceType<typeof errors.TokenSmithError>;
  const made: Err[] = [];
  for (const value of Object.values(errors)) {
    if (typeof value !== 'function' || !(value.prototype instanceof errors.TokenSmithError)) continue;
    if (value === errors.PolicyInvalidError) {
      made.push(new errors.PolicyInvalidError([]));
      continue;
    }
    const Make = value as unknown as new (message: string, details?: object) => Err;
    for (const claim of claims) made.push(new Make('x', claim === undefined ? {} : { claim }));
  }
  return made;
}

describe('docs/errors.md vendor tables', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const section = (title: string) => {
    const start = doc.indexOf(title);
    const end = doc.indexOf('\n## ', start + 1);
    return doc.slice(start, end < 0 ? undefined : end);
  };

  it('lists every Melissa code the encoders can produce, and no other', async () => {
    const { melissaCode } = await import('../../plugins/melissa/codes.js');
    const produced = new Set((await everyError([undefined, 'L', 'TS'])).map(melissaCode));
    const documented = new Set([...section('## Melissa').matchAll(/^\| `((?:TE|GE)\d\d)` \|/gm)].map((m) => m[1] as string));
    expect([...produced].sort()).to.deep.equal([...documented].sort());
  });

  it('lists every Electa code the encoders can produce, and no other', async () => {
    const { electaFailure } = await import('../../plugins/electa/codes.js');
    const produced = new Set([0, ...(await everyError([undefined])).map((e) => electaFailure(e).code)]);
    const documented = new Set([...section('## Electa').matchAll(/^\| `(\d+)` \|/gm)].map((m) => Number(m[1])));
    expect([...produced].sort()).to.deep.equal([...documented].sort());
  });
});
