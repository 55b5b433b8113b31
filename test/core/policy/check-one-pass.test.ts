import { expect } from 'chai';
import { PolicyInvalidError, formatPolicyIssue } from '../../../core/errors.js';
import { loadPolicyText } from '../../../core/policy/load.js';
import { suggestion } from '../../../core/suggest.js';
import { assemble } from '../../../core/container.js';
import { builtinModules } from '../../../plugins/index.js';
import { runConformance } from '../../../server/testkit/run.js';
import { policyKeys } from '../../helpers/names.js';

const { registry, store } = await assemble({ modules: builtinModules });
await store.close();
const FILE = 'p.yaml';

function problems(text: string): string[] {
  try {
    loadPolicyText(text, FILE, { catalog: registry, env: {} });
  } catch (err) {
    if (err instanceof PolicyInvalidError) return err.issues.map(formatPolicyIssue);
    throw err;
  }
  return [];
}
const warnings = (text: string): string[] => loadPolicyText(text, FILE, { catalog: registry, env: {} }).warnings.map(formatPolicyIssue);

/** An emalidate policy that loads; `extra` lines are added at the end. */
const EMALIDATE = 'id: p\nstyle: emalidate\nemalidate:\n  issuer: x\n  subject: u\n  keys: [{ kid: k, secret: "${env:S:-sixteen-chars-or-more-0123}" }]\n';

describe('check: every problem of a file in one pass', () => {
  it('reports the schema’s problems, the rule-level ones and the style block’s own together', () => {
    const text = [
      'id: p',
      'style: emalidate',
      'ttl: { default: 2h, max: 1h }',
      'ipBinding: calller',
      'emalidate:',
      '  issuer: x',
      '  subject: u',
      '  keys: [{ kid: k, secret: "${env:S:-x1y2z3}" }]',
      '',
    ].join('\n');
    expect(problems(text)).to.deep.equal([
      'p.yaml:3:17: /ttl/default: expected min ≤ default ≤ max; got default 2h with min 1s and max 1h',
      'p.yaml:4:12: /ipBinding: expected one of: off, param, caller, required; got string "calller"; did you mean "caller"?',
      'p.yaml:8:28: /emalidate/keys/0/secret: secret is too short: use at least 16 characters (32 or more recommended)',
    ]);
  });
  it('still checks the rest while the style name is wrong, and suggests the style', () => {
    const text = 'id: p\nstyle: emalidat\ntll: 5m\nttl: { default: 2h, max: 1h }\nemalidate:\n  issuer: x\n  bogus: 1\n';
    expect(problems(text)).to.deep.equal([
      'p.yaml:2:8: /style: unknown style "emalidat"; did you mean "emalidate"? known styles: electa, emalidate, jwt, melissa, xdoc',
      `p.yaml:3:1: /tll: unknown key "tll"; did you mean "ttl"? allowed keys: ${policyKeys(registry)}`,
      'p.yaml:4:17: /ttl/default: expected min ≤ default ≤ max; got default 2h with min 1s and max 1h',
      'p.yaml:6:3: /emalidate: missing required key "keys"',
      'p.yaml:7:3: /emalidate/bogus: unknown key "bogus"; allowed keys: issuer, subject, algorithms, clockTolerance, keys',
    ]);
  });
  it('suggests a format whose encoder exists', () => {
    expect(problems(`${EMALIDATE}output: { default: jsn, allowed: [jsn] }\n`)).to.deep.equal([
      'p.yaml:7:35: /output/allowed/0: no reply encoder for format "jsn" (looked for "emalidate-jsn" and "jsn"); did you mean "json"? registered encoders: electa-csv, electa-xml, json, melissa-gettoken, melissa-json, melissa-service, melissa-xml, xdoc-json, xdoc-query, xdoc-xws',
    ]);
  });
});

describe('core/suggest suggestion', () => {
  it('finds the close name, ignoring case, and nothing when every name is far', () => {
    expect(suggestion('tll', ['ttl', 'route'])).to.equal('ttl');
    expect(suggestion('Ttl', ['ttl'])).to.equal('ttl');
    expect(suggestion('protectedroutes', ['route', 'protectedRoute'])).to.equal('protectedRoute');
    expect(suggestion('zzz', ['ttl', 'route'])).to.equal(undefined);
    expect(suggestion('ab', ['xy'])).to.equal(undefined);
  });
});

describe('check: warnings for literal secrets', () => {
  it('warns, without the value, for a secret written in the file; references pass quietly', () => {
    const literal = 'id: p\nstyle: electa\ncredentials:\n  - id: "1"\n    secret: written-into-git-0001\n';
    const found = warnings(literal);
    expect(found).to.deep.equal(['p.yaml:5:13: /credentials/0/secret: a secret is written in the file (value not shown); use ${env:NAME} or ${file:path} instead']);
    expect(found.join()).to.not.include('written-into-git');
    expect(warnings('id: p\nstyle: electa\ncredentials:\n  - id: "1"\n    secret: ${env:APPKEY:-x}\n').filter((w) => w.includes('written in the file'))).to.deep.equal([]);
    const key = warnings('id: p\nstyle: emalidate\nemalidate:\n  issuer: x\n  subject: u\n  keys: [{ kid: k, secret: sixteen-chars-or-more-0123 }]\n');
    expect(key).to.deep.equal(['p.yaml:6:28: /emalidate/keys/0/secret: a secret is written in the file (value not shown); use ${env:NAME} or ${file:path} instead']);
  });
});

describe('emalidate: every token has a sub, so check, mint and verify agree', () => {
  const without = (extra: string) => `id: p\nstyle: emalidate\nroute: { path: /t }\n${extra}emalidate:\n  issuer: x\n  keys: [{ kid: k, secret: "\${env:S:-sixteen-chars-or-more-0123}" }]\n`;
  it('refuses a policy without subject whose tokens could lack one', () => {
    const message = 'tokens would have no "sub", which verify requires: set "subject", or give every credential an id or a subject (a token\'s sub is its credential\'s subject, else its id)';
    expect(problems(without(''))).to.deep.equal([`p.yaml:5:3: /emalidate: ${message}`]);
    expect(problems(without('credentials: [{ secret: "${env:C:-c-secret-0001}" }]\n'))).to.deep.equal([`p.yaml:6:3: /emalidate: ${message}`]);
  });
  it('a policy without subject but with credentials passes the conformance kit: sub is the credential id', async () => {
    const text = without('credentials: [{ id: alice, secret: "${env:C:-alice-secret-0001}" }]\n');
    const report = await runConformance({
      plugins: [],
      policy: { text, file: 'no-subject.yaml' },
      recipe: { issue: { client_id: 'alice', client_secret: 'alice-secret-0001' }, present: 'bearer', otherEnv: { S: 'another-secret-of-sixteen-or-more' } },
    });
    expect(report.failures.map((f) => `${f.name}: ${f.message}`)).to.deep.equal([]);
    expect(report.passed).to.equal(true);
  });
});
