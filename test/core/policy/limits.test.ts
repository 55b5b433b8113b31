import { expect } from 'chai';
import { builtinGuards } from '../../../plugins/guards/index.js';
import { policyKeys } from '../../helpers/names.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyInvalidError, type PolicyIssue } from '../../../core/errors.js';
import { loadPolicies, loadPolicyText, MAX_ISSUES_PER_FILE, MAX_POLICY_BYTES, type LoadOptions, type PolicyCatalog } from '../../../core/policy/load.js';
import type { StyleManifest } from '../../../core/ports.js';

const demo: StyleManifest = {
  name: 'demo',
  kind: 'opaque',
  settingsRequired: false,
  settingsSchema: { type: 'object', additionalProperties: false, properties: { greeting: { type: 'string' } } },
};
const catalog: PolicyCatalog = { styles: new Map([['demo', demo]]), encoders: new Set(['json']), guards: new Map(builtinGuards.map((guard) => [guard.name, guard])) };

/** A valid policy followed by `count` keys the schema does not know. */
function unknownKeys(count: number): string {
  const lines = ['id: p', 'style: demo'];
  for (let i = 0; i < count; i++) lines.push(`unknown${i}: ${i}`);
  return `${lines.join('\n')}\n`;
}

async function issuesOf(paths: string[], options: Partial<LoadOptions> = {}): Promise<PolicyIssue[]> {
  try {
    await loadPolicies(paths, { catalog, env: {}, ...options });
  } catch (err) {
    if (err instanceof PolicyInvalidError) return [...err.issues];
    throw err;
  }
  throw new Error('expected the policies to be refused');
}
const brief = (issues: PolicyIssue[]) => issues.map((i) => `${i.line}:${i.col} ${i.path} ${i.message}`);

describe('core/policy/load limits', () => {
  let dir: string;
  const write = (name: string, text: string | Buffer): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts-limits-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('having a file with 40,000 unknown keys', () => {
    it(`lists the first ${MAX_ISSUES_PER_FILE} problems in reading order, then says how many more there are`, async () => {
      // Positioning each problem used to search the mapping's keys: this file took half a minute and listed 40,000 lines.
      const issues = await issuesOf([write('many.yaml', unknownKeys(40_000))]);
      expect(issues).to.have.length(MAX_ISSUES_PER_FILE + 1);
      expect(brief(issues.slice(0, 2))).to.deep.equal([
        `3:1 /unknown0 unknown key "unknown0"; allowed keys: ${policyKeys(catalog)}`,
        `4:1 /unknown1 unknown key "unknown1"; allowed keys: ${policyKeys(catalog)}`,
      ]);
      expect(brief(issues.slice(-1))).to.deep.equal([`103:1  … and 39900 more problems from here on (only the first ${MAX_ISSUES_PER_FILE} of a file are listed)`]);
    });
  });

  describe('having a file larger than the limit', () => {
    it(`refuses it unread: ${MAX_POLICY_BYTES} bytes by default`, async () => {
      const text = `id: p\nstyle: demo\ndescription: "${'x'.repeat(MAX_POLICY_BYTES)}"\n`;
      expect(brief(await issuesOf([write('big.yaml', text)]))).to.deep.equal([
        '1:1  the file is larger than 1 MiB, the limit for one policy file (TOKENSMITH_MAX_POLICY_BYTES); refused unread',
      ]);
      expect(() => loadPolicyText(text, 'inline.yaml', { catalog, env: {} })).to.throw(PolicyInvalidError, /larger than 1 MiB/);
    });
    it('takes another limit from the options or from TOKENSMITH_MAX_POLICY_BYTES', async () => {
      const file = write('p.yaml', 'id: p\nstyle: demo\n');
      expect(brief(await issuesOf([file], { maxFileBytes: 10 }))[0]).to.match(/larger than 10 bytes/);
      expect(brief(await issuesOf([file], { env: { TOKENSMITH_MAX_POLICY_BYTES: '2048' }, maxFileBytes: 16 }))[0]).to.match(/larger than 16 bytes/);
      expect(brief(await issuesOf([file], { env: { TOKENSMITH_MAX_POLICY_BYTES: '16' } }))[0]).to.match(/larger than 16 bytes/);
      const { policies } = await loadPolicies([file], { catalog, env: { TOKENSMITH_MAX_POLICY_BYTES: '18' } });
      expect(policies.map((p) => p.id)).to.deep.equal(['p']);
    });
    it('refuses a limit in the environment that is not a number of bytes', async () => {
      const file = write('p.yaml', 'id: p\nstyle: demo\n');
      expect(brief(await issuesOf([file], { env: { TOKENSMITH_MAX_POLICY_BYTES: '1MB' } }))).to.deep.equal([
        '1:1  expected a whole number of bytes, such as 2097152 for 2 MiB; got "1MB"',
      ]);
    });
  });

  describe('having an alias bomb ("billion laughs")', () => {
    it('refuses it with a message that says so', async () => {
      const bomb = [
        'a: &a [x, x, x, x, x, x, x, x, x, x]',
        'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
        'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
        'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
        'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
        'f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]',
        'id: p',
        'style: demo',
      ].join('\n');
      expect(brief(await issuesOf([write('bomb.yaml', bomb)]))).to.deep.equal([
        '1:1  YAML: aliases (*name) expand more than 100 times; refused as an alias bomb ("billion laughs")',
      ]);
    });
    it('still reads a few aliases', () => {
      const { policies } = loadPolicyText('id: p\nstyle: demo\ndescription: &d shared\noutput: { param: *d }\n', 'inline.yaml', { catalog, env: {} });
      expect(policies[0]?.output.param).to.equal('shared');
    });
  });

  describe('having a key given twice', () => {
    it('reports the second one, in a flow mapping and in a block mapping', async () => {
      expect(brief(await issuesOf([write('twice.yaml', 'id: p\nstyle: demo\nttl: { min: 1s, min: 2s }\nid: q\n')]))).to.deep.equal([
        '3:17  YAML: Map keys must be unique',
        '4:1  YAML: Map keys must be unique',
      ]);
    });
  });

  describe('having a ${file:…} reference to something that is not a small regular file', () => {
    it('refuses a file over 64 KiB, and a device, without reading on', async () => {
      write('huge.txt', Buffer.alloc(64 * 1024 + 1, 0x61));
      const file = write('p.yaml', 'id: p\nstyle: demo\ncredentials:\n  - secret: ${file:huge.txt}\n  - secret: ${file:/dev/zero}\n');
      expect(brief(await issuesOf([file]))).to.deep.equal([
        '4:13 /credentials/0/secret ${file:huge.txt} is larger than 64 KiB; a secret file holds one secret',
        '5:13 /credentials/1/secret ${file:/dev/zero} cannot be read (not a regular file)',
      ]);
    });
  });
});
