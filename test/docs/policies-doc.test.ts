import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { assemble } from '../../core/container.js';
import { buildPolicySchema } from '../../core/policy/schema.js';
import { builtinModules } from '../../plugins/index.js';

type Schema = Record<string, unknown>;

/** Every property name below `schema`, following `$ref`, `if`/`then`/`else`, `items` and nested `properties`. */
function propertyNames(schema: Schema, root: Schema, seen = new Set<Schema>()): Set<string> {
  const names = new Set<string>();
  if (seen.has(schema)) return names;
  seen.add(schema);
  const ref = schema['$ref'];
  if (typeof ref === 'string') {
    const target = ref.replace(/^#\//, '').split('/').reduce<unknown>((node, key) => (node as Schema)[key], root) as Schema;
    for (const name of propertyNames(target, root, seen)) names.add(name);
  }
  for (const [name, inner] of Object.entries((schema['properties'] ?? {}) as Record<string, Schema>)) {
    names.add(name);
    for (const nested of propertyNames(inner, root, seen)) names.add(nested);
  }
  for (const key of ['if', 'then', 'else', 'items', 'additionalProperties']) {
    const inner = schema[key];
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
      for (const nested of propertyNames(inner as Schema, root, seen)) names.add(nested);
    }
  }
  return names;
}

const doc = readFileSync('docs/policies.md', 'utf8');

/** The text of the `## \`key\`` section, up to the next `## ` heading. */
function section(key: string): string | undefined {
  const start = doc.indexOf(`\n## \`${key}\`\n`);
  if (start < 0) return undefined;
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

describe('docs/policies.md', () => {
  let schema: Schema;
  let styles: string[];
  before(async () => {
    const { registry, store } = await assemble({ modules: builtinModules });
    await store.close();
    schema = buildPolicySchema(registry);
    styles = [...registry.styles.keys()];
  });

  it('has a section for every top-level key of the schema (built-in styles’ blocks included), with a YAML example of it', () => {
    const keys = Object.keys(schema['properties'] as Schema);
    expect(keys).to.include.members(['id', 'style', ...styles]);
    const undocumented = keys.filter((key) => section(key) === undefined);
    expect(undocumented, 'keys without a "## `key`" section').to.deep.equal([]);
    const withoutExample = keys.filter((key) => !new RegExp(`\`\`\`yaml\\n(?:.*\\n)*?${key}:`).test(section(key) as string));
    expect(withoutExample, 'sections without a ```yaml example of their key').to.deep.equal([]);
  });

  it('names every nested key in the section of its top-level key', () => {
    const missing: string[] = [];
    for (const [key, inner] of Object.entries(schema['properties'] as Record<string, Schema>)) {
      const text = section(key) ?? '';
      for (const name of propertyNames(inner, schema)) if (!text.includes(`\`${name}\``)) missing.push(`${key} → ${name}`);
    }
    expect(missing, 'nested keys not named in their section').to.deep.equal([]);
  });

  it('documents no key the schema does not have', () => {
    const keys = new Set(Object.keys(schema['properties'] as Schema));
    const headings = [...doc.matchAll(/^## `([^`]+)`$/gm)].map((m) => m[1] as string);
    expect(headings.length).to.equal(keys.size);
    expect(headings.filter((h) => !keys.has(h))).to.deep.equal([]);
  });

  it('has YAML examples that parse', () => {
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    expect(blocks.length).to.be.greaterThan(15);
    for (const block of blocks) expect(() => parse(block, { version: '1.2' }), block).to.not.throw();
  });
});

describe('policies/*.yaml editor schema line', () => {
  const files = readdirSync('policies').filter((name) => /\.ya?ml$/.test(name));

  it('is the first line of every example policy, pointing at a schema file that exists', () => {
    expect(files.length).to.be.greaterThanOrEqual(3);
    for (const name of files) {
      const first = readFileSync(join('policies', name), 'utf8').split('\n')[0] as string;
      const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
      expect(match, `${name} starts with the yaml-language-server schema line`).to.not.equal(null);
      const target = join(dirname(join('policies', name)), (match as RegExpExecArray)[1] as string);
      expect(existsSync(target), `${name}: ${target} exists`).to.equal(true);
      expect((JSON.parse(readFileSync(target, 'utf8')) as { title?: string }).title).to.equal('tokensmith policy');
    }
  });
});
