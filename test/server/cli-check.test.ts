import { expect } from 'chai';
import { main } from '../../server/cli.js';
import { listed, policyKeys, registryOf } from '../helpers/names.js';

const builtins = await registryOf();

const DIR = 'test/fixtures/policies/check';

/** Runs `tokensmith check` in-process; stderr and stdout as lists of lines. */
async function check(paths: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['check', ...paths], { out: (t) => out.push(...t.split('\n')), err: (t) => err.push(...t.split('\n')), env });
  return { code, out, err };
}

/** Expects exit 1, nothing on stdout, and exactly these `file:line:col: /path: message` lines. */
async function refuses(name: string, lines: readonly string[], env: Record<string, string> = {}): Promise<void> {
  const { code, out, err } = await check([`${DIR}/${name}`], env);
  expect(err).to.deep.equal(lines.map((line) => `${DIR}/${name}:${line}`));
  expect(out).to.deep.equal([]);
  expect(code).to.equal(1);
}

/** Each mistake: what the test shows, the fixture file, the exact lines after `file:`, and the environment. */
const MISTAKES: readonly (readonly [string, string, readonly string[], Record<string, string>?])[] = [
  [
    'a YAML syntax error: one issue at the place the parser gave up',
    'syntax.yaml',
    ['3:40: /: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  ],
  [
    'an unknown key: at the key, with the keys allowed there',
    'unknown-key.yaml',
    ['5:3: /ttl/maximum: unknown key "maximum"; allowed keys: default, min, max'],
  ],
  [
    'a wrong type: what was expected and what was found',
    'wrong-type.yaml',
    [
      '3:8: /reuse: expected boolean, got string "yes"',
      '4:23: /lockout/threshold: expected integer, got string "five"',
      '5:14: /credentials: expected array, got a mapping',
    ],
  ],
  [
    'a bad duration: the accepted forms',
    'bad-duration.yaml',
    [
      '3:17: /ttl/default: expected a duration such as 300s, 20m or 99h; got string "20 minutes"',
      '3:34: /ttl/max: expected a duration such as 300s, 20m or 99h; got string "1w"',
    ],
  ],
  [
    'a missing required key: at the mapping that lacks it',
    'missing-required.yaml',
    [
      '1:1: /: missing required key "id"',
      '2:8: /route: missing required key "path"',
      '4:5: /credentials/0: missing required key "secret"',
      '5:10: /lockout: missing required key "duration"',
    ],
  ],
  [
    'numbers and lists out of bounds: lockout threshold 0, empty lists',
    'lockout-zero.yaml',
    [
      '5:23: /lockout/threshold: expected at least 1; got number 0',
      '5:59: /lockout/per: expected at least 1 item; got an empty list',
      '6:20: /output/allowed: expected at least 1 item; got an empty list',
      '7:8: /route: expected at least 1 item; got an empty list',
    ],
  ],
  [
    'an unknown style: lists the known ones',
    'unknown-style.yaml',
    [`2:8: /style: unknown style "nosuchstyle"; known styles: ${listed(builtins.styles.keys())}`],
  ],
  [
    'an unknown reply format: the encoder names looked for and the registered ones',
    'unknown-format.yaml',
    [`3:55: /output/allowed/1: no reply encoder for format "yaml" (looked for "electa-yaml" and "yaml"); registered encoders: ${listed(builtins.encoders)}`],
  ],
  [
    'a missing ${env:X}: names the reference, never a value',
    'missing-env.yaml',
    ['5:13: /credentials/0/secret: ${env:CHECK_TEST_APPKEY} is not set'],
    { CHECK_TEST_APPKEY: '', OTHER_SECRET: 'value-that-must-not-show' },
  ],
  [
    'an unreadable ${file:…}: names the reference and the reason',
    'unreadable-file.yaml',
    ['5:13: /credentials/0/secret: ${file:secrets/missing-appkey.txt} cannot be read (ENOENT)'],
  ],
  [
    'semantic checks: route format, path twice, credential twice, ttl order, output default — all at once',
    'semantic.yaml',
    [
      '4:38: /route/0/format: format "json" is not in output.allowed (xml)',
      '5:13: /route/1/path: path /semantic/token is used twice in this policy',
      '8:11: /credentials/1/id: credential id "1" is listed twice',
      '9:17: /ttl/default: expected min ≤ default ≤ max; got default 2h with min 1h and max 30m',
      '9:26: /ttl/min: expected min ≤ max; got min 1h and max 30m',
      '11:35: /output/default: default format "csv" is not in allowed (xml)',
    ],
  ],
  [
    'semantic checks: a style’s required block missing, lockout per credential without credentials',
    'no-block.yaml',
    [
      '1:1: /: missing the "emalidate" settings block that style emalidate requires',
      '3:10: /lockout: lockout per credential needs a credentials list',
    ],
  ],
  [
    'style checks: another style’s block, a short secret (never shown), a key id twice',
    'style-check.yaml',
    [
      '3:1: /melissa: block "melissa" does not apply to style "emalidate"',
      '5:3: /emalidate: tokens would have no "sub", which verify requires: set "subject", or give every credential an id or a subject (a token\'s sub is its credential\'s subject, else its id)',
      '7:26: /emalidate/keys/0/secret: secret is too short: use at least 16 characters (32 or more recommended)',
      '8:14: /emalidate/keys/1/kid: key id "k1" is listed twice',
    ],
  ],
  [
    'several mistakes in one file: every one reported, in reading order',
    'many.yaml',
    [
      '1:5: /id: expected text matching ^[a-z0-9][a-z0-9-]{0,62}$; got string "Many Errors"',
      `3:1: /tll: unknown key "tll"; did you mean "ttl"? allowed keys: ${policyKeys(builtins)}`,
      '4:17: /ttl/default: expected a duration such as 300s, 20m or 99h; got string "soon"',
      '5:12: /ipBinding: expected one of: off, param, caller, required; got string "sometimes"',
      '6:8: /reuse: expected boolean, got number 1',
      '9:13: /credentials/0/secret: ${env:CHECK_TEST_MISSING} is not set',
    ],
  ],
];

describe('server/cli check (each kind of mistake a policy writer makes)', () => {
  for (const [title, name, lines, env] of MISTAKES) {
    it(title, async () => {
      await refuses(name, lines, env);
    });
  }
  it('duplicate policy ids and routes across files: points at the first one', async () => {
    const { code, err } = await check([`${DIR}/dup`]);
    expect(err).to.deep.equal([
      `${DIR}/dup/two.yaml:1:5: /id: policy id "same" is already used in ${DIR}/dup/one.yaml:1:5`,
      `${DIR}/dup/two.yaml:3:16: /route/path: POST /one is already served by policy same`,
    ]);
    expect(code).to.equal(1);
  });
  it('a directory with one good and one bad file: only the bad file’s issue, exit 1', async () => {
    const { code, out, err } = await check([`${DIR}/mixed`]);
    expect(err).to.deep.equal([`${DIR}/mixed/bad.yaml:4:17: /ttl/default: expected min ≤ default ≤ max; got default 20m with min 1s and max 5m`]);
    expect(out).to.deep.equal([]);
    expect(code).to.equal(1);
  });
  it('a path that does not exist, next to a good file', async () => {
    const { code, err } = await check([`${DIR}/warnings.yaml`, `${DIR}/nope`], { CHECK_TEST_APPKEY: 'set-for-this-test-0001' });
    expect(err).to.deep.equal([`${DIR}/nope:1:1: /: cannot read policy path (ENOENT)`]);
    expect(code).to.equal(1);
  });
  it('public routes that mint tokens living over 1h: a preset route (its default) and a policy without credentials (its max)', async () => {
    const env = { CHECK_TEST_LICENCE: 'check-test-licence-0123456789', CHECK_TEST_APPKEY: 'check-test-appkey-0123456789' };
    const { code, out, err } = await check([`${DIR}/public-long-lived.yaml`, `${DIR}/open-long-lived.yaml`], env);
    expect(err).to.deep.equal([
      `WARNING ${DIR}/public-long-lived.yaml:5:5: /route/1: route /public/helper is public (its credential is preset on the server) and mints tokens that live 2h (ttl.default); anyone who reaches it can hold as many as they ask for: keep public tokens to 1h or less`,
      `WARNING ${DIR}/open-long-lived.yaml:3:8: /route: route /open/token is public (the policy has no credentials) and mints tokens that live 1d (ttl.max); anyone who reaches it can hold as many as they ask for: keep public tokens to 1h or less`,
    ]);
    expect(out).to.deep.equal(['ok: 2 policies (public-long-lived, open-long-lived)']);
    expect(code).to.equal(0);
  });
  it('warnings only (a demo default used): exit 0, the warning names the variable, not the value', async () => {
    const { code, out, err } = await check([`${DIR}/warnings.yaml`]);
    expect(err).to.deep.equal([
      `WARNING ${DIR}/warnings.yaml:5:13: /credentials/0/secret: CHECK_TEST_APPKEY is not set: using the demo default written in the policy — set it before production use`,
    ]);
    expect(out).to.deep.equal(['ok: 1 policy (warnings)']);
    expect(code).to.equal(0);
  });
});
