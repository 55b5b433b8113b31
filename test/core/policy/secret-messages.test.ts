import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble, type Assembly } from '../../../core/container.js';
import { PolicyInvalidError, formatPolicyIssue, type PolicyIssue } from '../../../core/errors.js';
import { loadPolicies } from '../../../core/policy/load.js';
import { builtinModules } from '../../../plugins/index.js';
import { boot } from '../../../server/bootstrap.js';
import { main } from '../../../server/cli.js';
import { createLogger } from '../../../server/logging.js';
import { reloader } from '../../../server/reload.js';

/** Secrets that no message holds by chance: upper case, a valid policy id, one with JSON escapes and longer than a quote is cut. */
const ENV = {
  SECRET: 'ELKEY9X8Q7W6E5R4T3Y2U1I0',
  ID: 'idkey5m4n3b2v1c0',
  LONG: 'Lq"Zx\\Wv-8k3J7h2G9f4D1s6A5p0Y-mN8bT2rC7eQ4uK9oP3iE6wX',
  EMALIDATE_SECRET: 'emalidate-secret-for-the-good-policy',
};
const FILE_SECRET = 'FQ8W-7a6b5c4d3e2f-ZX9';
const SECRETS = [ENV.SECRET, ENV.ID, ENV.LONG, FILE_SECRET];

/** The first secret any 6-character window of which shows in `text` (any case), or undefined: a cut or re-cased quote leaks too. */
function leakIn(text: string): string | undefined {
  const lower = text.toLowerCase();
  return SECRETS.find((secret) => {
    for (let i = 0; i + 6 <= secret.length; i++) if (lower.includes(secret.slice(i, i + 6).toLowerCase())) return true;
    return false;
  });
}

const EMALIDATE_BLOCK = 'emalidate:\n  issuer: shop.example\n  subject: shop-user\n  keys: [{ kid: k1, secret: "${env:EMALIDATE_SECRET}" }]\n';

/** Each file puts secret references in fields where they do not belong, for one stage of the pipeline. */
const FILES: Readonly<Record<string, string>> = {
  // The schema: pattern, enum, type, the `if`/`then` of ipBinding, nested style settings, an alias, a partial reference.
  'schema.yaml': [
    'id: "${env:SECRET}"',
    'style: emalidate',
    'description: &long "${env:LONG}"',
    'route: { path: "x${env:SECRET}", methods: ["${env:SECRET}"], format: "${env:LONG}" }',
    'params: { caseInsensitive: "${env:SECRET}" }',
    'ttl: { default: "${env:SECRET}", max: "${file:secret.txt}" }',
    'ipBinding: "${env:SECRET}"',
    'lockout: { threshold: "${env:SECRET}", window: 1m, duration: 1m, per: ["${env:SECRET}"] }',
    'output: { default: "${env:LONG}" }',
    'reuse: *long',
    'emalidate:',
    '  issuer: shop.example',
    '  algorithms: ["${env:SECRET}"]',
    '  clockTolerance: "${env:LONG}"',
    '  keys: [{ kid: k1, secret: "${env:EMALIDATE_SECRET}" }]',
    '',
  ].join('\n'),
  // The semantic checks: values that pass the schema but are quoted by a check.
  'semantic.yaml': [
    'id: semantic',
    'style: emalidate',
    'route: { path: "/t/${env:SECRET}", format: "${env:SECRET}" }',
    'protectedRoute: { path: "/t/${env:SECRET}" }',
    'credentials: [{ id: "${env:SECRET}", secret: s1-0123456789abcdef }, { id: "${env:SECRET}", secret: s2-0123456789abcdef }]',
    'output: { default: "${env:SECRET}", allowed: [json] }',
    EMALIDATE_BLOCK,
  ].join('\n'),
  'style.yaml': 'id: style\nstyle: "${env:SECRET}"\n',
  // The styles' own checks (plugins/*/schema.ts).
  'emalidate-check.yaml': [
    'id: emalidate-check',
    'style: emalidate',
    'emalidate:',
    '  issuer: shop.example',
    '  keys: [{ kid: "${env:SECRET}", secret: "${env:EMALIDATE_SECRET}" }, { kid: "${env:SECRET}", secret: "${env:EMALIDATE_SECRET}" }]',
    '',
  ].join('\n'),
  'melissa-check.yaml': 'id: melissa-check\nstyle: melissa\ncredentials: [{ secret: licence-0123456789, scopes: ["${env:SECRET}"] }]\n',
  'xdoc-check.yaml': [
    'id: xdoc-check',
    'style: xdoc',
    'xdoc:',
    '  context: "${env:SECRET}"',
    '  keys:',
    '    - { name: "${env:SECRET}", keySize: 128, mode: GCM, key: "${env:SECRET}" }',
    '    - { name: "${env:SECRET}", keySize: 128, mode: GCM, key: 000102030405060708090a0b0c0d0e0f }',
    '',
  ].join('\n'),
  // An id from a reference is refused: every log line and metric would show the value.
  'id.yaml': `id: "\${env:ID}"\nstyle: emalidate\n${EMALIDATE_BLOCK}`,
};

/** Where each file's issues must name a reference: the path, and the reference written there. */
const NAMED: readonly (readonly [string, string, string])[] = [
  ['schema.yaml', '/id', '${env:SECRET}'],
  ['schema.yaml', '/route/path', 'x${env:SECRET}'],
  ['schema.yaml', '/route/methods/0', '${env:SECRET}'],
  ['schema.yaml', '/route/format', '${env:LONG}'],
  ['schema.yaml', '/params/caseInsensitive', '${env:SECRET}'],
  ['schema.yaml', '/ttl/default', '${env:SECRET}'],
  ['schema.yaml', '/ttl/max', '${file:secret.txt}'],
  ['schema.yaml', '/ipBinding', '${env:SECRET}'],
  ['schema.yaml', '/lockout/threshold', '${env:SECRET}'],
  ['schema.yaml', '/lockout/per/0', '${env:SECRET}'],
  ['schema.yaml', '/output/default', '${env:LONG}'],
  ['schema.yaml', '/reuse', '${env:LONG}'],
  ['schema.yaml', '/emalidate/algorithms/0', '${env:SECRET}'],
  ['schema.yaml', '/emalidate/clockTolerance', '${env:LONG}'],
  ['semantic.yaml', '/route/format', '${env:SECRET}'],
  ['semantic.yaml', '/protectedRoute/path', '/t/${env:SECRET}'],
  ['semantic.yaml', '/credentials/1/id', '${env:SECRET}'],
  ['semantic.yaml', '/output/default', '${env:SECRET}'],
  ['style.yaml', '/style', '${env:SECRET}'],
  ['emalidate-check.yaml', '/emalidate/keys/1/kid', '${env:SECRET}'],
  ['melissa-check.yaml', '/melissa', '${env:SECRET}'],
  ['xdoc-check.yaml', '/xdoc/keys/1/name', '${env:SECRET}'],
  ['id.yaml', '/id', '${env:ID}'],
];

describe('secret references named in the wrong field', () => {
  let dir: string;
  let assembly: Assembly;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ts-secret-messages-'));
    for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, 'secret.txt'), `${FILE_SECRET}\n`);
    assembly = await assemble({ modules: builtinModules });
  });
  after(async () => {
    await assembly.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function issuesOf(): Promise<PolicyIssue[]> {
    try {
      await loadPolicies([dir], { catalog: assembly.registry, env: ENV });
    } catch (err) {
      if (err instanceof PolicyInvalidError) return [...err.issues];
      throw err;
    }
    throw new Error('expected the policies to be refused');
  }

  describe('loadPolicies', () => {
    it('never shows a secret, nor part of one, in any issue', async () => {
      const issues = await issuesOf();
      expect(issues.length).to.be.greaterThan(NAMED.length);
      for (const issue of issues) expect(leakIn(formatPolicyIssue(issue)), formatPolicyIssue(issue)).to.equal(undefined);
    });

    for (const [file, path, written] of NAMED) {
      it(`names ${written} in the issue of ${file} at ${path}`, async () => {
        const at = (await issuesOf()).filter((i) => i.file === join(dir, file) && i.path === path);
        expect(at.map((i) => i.message).join('\n')).to.include(written);
      });
    }

    it('refuses a policy id that comes from a reference, naming the reference', async () => {
      const issues = (await issuesOf()).filter((i) => i.file === join(dir, 'id.yaml'));
      expect(issues.map((i) => `${i.line}:${i.col} ${i.path} ${i.message}`)).to.deep.equal([
        '1:5 /id a policy id cannot come from a secret reference ("${env:ID}"): the id is shown in every log line, metric and message; write the id itself',
      ]);
    });

    it('says what the schema expected, and names the reference for what it got', async () => {
      const issue = (await issuesOf()).find((i) => i.file === join(dir, 'schema.yaml') && i.path === '/lockout/threshold');
      expect(issue?.message).to.equal('expected integer, got string from "${env:SECRET}" (value not shown)');
    });
  });

  describe('tokensmith check', () => {
    it('prints no secret on stdout or stderr', async () => {
      const out: string[] = [];
      const code = await main(['check', dir], { out: (t) => out.push(t), err: (t) => out.push(t), env: ENV });
      expect(code).to.equal(1);
      expect(out.join('\n')).to.include('${env:SECRET}');
      expect(leakIn(out.join('\n'))).to.equal(undefined);
    });
  });

  describe('the server\'s "reload failed" log', () => {
    it('logs no secret', async () => {
      const good = mkdtempSync(join(tmpdir(), 'ts-secret-reload-'));
      try {
        writeFileSync(join(good, 'emalidate.yaml'), `id: good\nstyle: emalidate\n${EMALIDATE_BLOCK}`);
        const booted = await boot({ policies: [good], store: 'memory', env: ENV });
        const logged: string[] = [];
        const logger = createLogger({ destination: { write: (line: string) => void logged.push(line) } });
        const { reload } = reloader(booted, { policies: [good, dir], env: ENV, logger });
        expect((await reload('test')).ok).to.equal(false);
        await booted.store.close();
        expect(logged.join('')).to.include('policy reload failed');
        expect(logged.join('')).to.include('${env:SECRET}');
        expect(leakIn(logged.join(''))).to.equal(undefined);
      } finally {
        rmSync(good, { recursive: true, force: true });
      }
    });
  });
});
