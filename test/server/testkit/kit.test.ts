import { AssertionError } from 'node:assert';
import { expect } from 'chai';
import { ContainerModule } from 'inversify';
import { TYPES } from '../../../core/ids.js';
import { definePlugin } from '../../../core/plugin.js';
import type { ReplyEncoder, StoreFactory, TokenStyle } from '../../../core/ports.js';
import { assertConformance, CONFORMANCE_CHECKS, runConformance, type ConformanceOptions, type ConformanceReport } from '../../../server/testkit/index.js';
import { FIXTURE_PLUGIN, FIXTURE_POLICY } from '../../helpers/boot.js';
import { policyKeys, registryOf } from '../../helpers/names.js';

const LEAKY: ConformanceOptions = {
  plugins: ['test/fixtures/broken-plugin/index.js'],
  policy: 'test/fixtures/broken-plugin/leaky.yaml',
  recipe: { issue: { user: 'alice', password: 'alice-password-0001' }, present: 'bearer', otherEnv: {} },
};
const FIXTURE: ConformanceOptions = {
  plugins: [FIXTURE_PLUGIN],
  policy: FIXTURE_POLICY,
  recipe: { issue: { client_id: 'alice', client_secret: 'alice-secret-0001' }, present: { param: 'token' } },
};

/** The check whose name starts with `prefix` (names are long sentences). */
const result = (report: ConformanceReport, prefix: string) => {
  const found = report.results.find((r) => r.name.startsWith(prefix));
  if (found === undefined) throw new Error(`no check named ${prefix}…`);
  return found;
};
const lines = (report: ConformanceReport, prefix: string) => (result(report, prefix).message ?? '').split('\n');

describe('server/testkit (the conformance kit)', () => {
  describe('runConformance', () => {
    describe('having a deliberately broken plugin (test/fixtures/broken-plugin)', () => {
      let report: ConformanceReport;
      before(async () => {
        report = await runConformance(LEAKY);
      });

      it('fails exactly the contracts it breaks, and passes the rest', () => {
        expect(report.passed).to.equal(false);
        expect(report.failures.map((f) => f.name.split(':')[0])).to.deep.equal([
          'manifest', 'expiry', 'address binding', 'tampered tokens', 'garbage tokens', 'another policy', 'reply encoders', 'bad issue requests',
        ]);
        // The two guard checks have nothing to check in a plugin without guards.
        expect(report.results.filter((r) => r.status === 'skipped').map((r) => r.name.split(':')[0])).to.deep.equal(['guards', 'guard rule']);
        expect(report.results.filter((r) => r.status === 'passed')).to.have.length(CONFORMANCE_CHECKS.length - 8 - 2);
      });
      it('says which encoder cannot encode', () => {
        expect(lines(report, 'manifest: every')).to.deep.equal(['the ReplyEncoder bound as "leaky-xml" has no encode() method']);
      });
      it('catches a verify that never checks expiry or the bound address', () => {
        expect(lines(report, 'expiry')).to.deep.equal(['an expired token was accepted; expected a refusal with ERR_TOKEN_EXPIRED or ERR_TOKEN_UNKNOWN']);
        expect(lines(report, 'address binding')).to.deep.equal([
          'a bound token presented from another address was accepted; expected a refusal with ERR_TOKEN_IP_MISMATCH',
        ]);
      });
      it('names each tampered token that was accepted or crashed with a TypeError', () => {
        expect(lines(report, 'tampered')).to.deep.equal([
          'the token with its first character changed threw TypeError: cannot read this token instead of a TokenSmithError with a stable code',
          'the token with a character in the middle changed threw TypeError: cannot read this token instead of a TokenSmithError with a stable code',
          'the token with its second-to-last character changed was accepted; expected a refusal with an ERR_TOKEN_* code',
          'the token cut to half its length threw TypeError: cannot read this token instead of a TokenSmithError with a stable code',
          'the token with a character appended was accepted; expected a refusal with an ERR_TOKEN_* code',
        ]);
      });
      it('names garbage that crashed verify, and an unsigned alg:none JWT it accepted', () => {
        const garbage = lines(report, 'garbage');
        expect(garbage[0]).to.equal('the token "garbage" threw TypeError: cannot read this token instead of a TokenSmithError with a stable code');
        expect(garbage).to.include('the token "eyJhbGciOiJub25lIiwidHlw…" was accepted; expected a refusal with an ERR_TOKEN_* code');
        expect(garbage).to.have.length(11);
      });
      it('catches a token that verifies under another policy, a leaking encoder and a crashing readGrant', () => {
        expect(lines(report, 'another policy')).to.deep.equal(['a token presented under another policy was accepted; expected a refusal with an ERR_TOKEN_* code']);
        expect(lines(report, 'reply encoders')).to.deep.equal(['encoder "leaky-text" shows the hidden message of ERR_INTERNAL to the client']);
        expect(lines(report, 'bad issue requests')).to.deep.equal([
          "an issue request without parameters threw TypeError: Cannot read properties of undefined (reading 'toUpperCase') instead of a TokenSmithError with a stable code",
        ]);
      });
    });

    describe('having a plugin whose parts lack what their kind needs', () => {
      it('fails the manifest check, naming each part', async () => {
        const sloppy = definePlugin({
          name: 'sloppy',
          styles: { sloppy: { kind: 'opaque', settingsSchema: { type: 'object' }, settingsRequired: 'no' as unknown as boolean, style: {} as TokenStyle } },
          encoders: { 'sloppy-json': {} as ReplyEncoder },
          stores: { sloppy: 'memory' as unknown as StoreFactory },
        });
        const report = await runConformance({ ...FIXTURE, plugins: [FIXTURE_PLUGIN, sloppy] });
        expect(lines(report, 'manifest: every')).to.deep.equal([
          'style "sloppy" does not say whether settingsRequired',
          'the TokenStyle bound as "sloppy" has no create() method',
          'the ReplyEncoder bound as "sloppy-json" has no encode() method',
          'the StoreFactory bound as "sloppy" is not a function',
        ]);
      });
    });

    describe('having a hand-written ContainerModule (the shape before definePlugin)', () => {
      it('still loads it, and names a manifest entry it never binds', async () => {
        const handWritten = new ContainerModule(({ bind }) => {
          bind(TYPES.ReplyEncoder).toConstantValue({ encode: () => ({}) }).whenNamed('by-hand-json');
          bind(TYPES.PluginManifest).toConstantValue({ name: 'by-hand', encoders: ['by-hand-json', 'by-hand-xml'] });
        });
        const report = await runConformance({ ...FIXTURE, plugins: [FIXTURE_PLUGIN, handWritten] });
        expect(lines(report, 'manifest: every')).to.deep.equal(['a manifest lists encoder "by-hand-xml" but the module binds no ReplyEncoder whenNamed("by-hand-xml")']);
        expect(result(report, 'round trip').status).to.equal('passed');
      });
    });

    describe('having a guard that breaks the guard contract', () => {
      it('names each problem: its name, order, undocumented code and a hook that does not exist', async () => {
        const sloppy = definePlugin({
          name: 'sloppy-guard',
          guards: [{ name: 'Sloppy Guard', order: Number.NaN, keys: {}, codes: ['ERR_NOT_DOCUMENTED'], create: () => ({ onverify: async () => {}, beforeMint: async () => {} }) as never }],
        });
        const report = await runConformance({ ...FIXTURE, plugins: [FIXTURE_PLUGIN, sloppy] });
        expect(lines(report, 'guards:')).to.deep.equal([
          'guard "Sloppy Guard": its name must be lower case letters, digits and dashes',
          'guard "Sloppy Guard": order must be a number (lower runs first)',
          'guard "Sloppy Guard": code ERR_NOT_DOCUMENTED is neither a tokensmith code (docs/errors.md) nor one listed in options.codes',
          'guard "Sloppy Guard": "onverify" is not a hook; hooks are onRequest, beforeCredentials, afterCredentials, beforeMint, beforeVerify, onVerify',
          'guard "Sloppy Guard": beforeMint is async; it must decide without a promise (check with the store in onRequest or the credential hooks)',
        ]);
      });

      it('fails the guard rule when a token verifies more often than the recipe says the guard allows', async () => {
        const report = await runConformance({ ...FIXTURE, recipe: { ...FIXTURE.recipe, guard: { verifies: 2, code: 'ERR_TOKEN_REUSED' } } });
        expect(lines(report, 'guard rule')).to.deep.equal(['verification 3 (one more than allowed) was accepted; expected a refusal with ERR_TOKEN_REUSED']);
      });
    });

    describe('having a policy that does not load', () => {
      it('fails every check with the loader’s file:line:col message', async () => {
        const keys = policyKeys(await registryOf([FIXTURE_PLUGIN]));
        const report = await runConformance({ ...FIXTURE, policy: { text: 'id: fixture\nstyle: fixture\ntll: 5m\n', file: 'inline.yaml' } });
        expect(report.failures).to.have.length(CONFORMANCE_CHECKS.length);
        expect(new Set(report.failures.map((f) => f.message))).to.deep.equal(
          new Set([
            `the plugin or policy could not be loaded: ERR_POLICY_INVALID: inline.yaml:3:1: /tll: unknown key "tll"; did you mean "ttl"? allowed keys: ${keys}`,
          ]),
        );
      });
      it('says so when the plugin path cannot be imported', async () => {
        const report = await runConformance({ ...FIXTURE, plugins: ['test/fixtures/no-such-plugin.js'] });
        expect(report.failures[0]?.message).to.match(/^the plugin or policy could not be loaded: ERR_PLUGIN_LOAD: cannot load plugin test\/fixtures\/no-such-plugin.js: /);
      });
    });

    describe('having a self-contained style and no recipe.otherEnv', () => {
      it('skips the another-policy check and says what to give', async () => {
        const report = await runConformance({ policy: 'policies/emalidate.yaml', recipe: { issue: {}, present: 'bearer' } });
        expect(report.passed).to.equal(true);
        expect(result(report, 'another policy')).to.deep.include({
          status: 'skipped',
          message: 'self-contained tokens verify wherever the same keys are configured: give recipe.otherEnv (an environment giving the policy other keys) to run this check',
        });
      });
    });

    describe('having a style without credentials that crashes on a parameter it reads', () => {
      it('fails the bad-issue-requests check, naming the parameter the recipe never gives', async () => {
        const text = [
          'id: open-fixture', 'style: fixture', 'ttl: { default: 5m, min: 1m, max: 1h }',
          'output: { param: format, default: json, allowed: [json, text] }', 'fixture: { prefix: FX-, crashOn: boom }', '',
        ].join('\n');
        const report = await runConformance({ ...FIXTURE, policy: { text, file: 'open-fixture.yaml' }, recipe: { issue: {}, present: { param: 'token' } } });
        expect(result(report, 'round trip').status).to.equal('passed');
        expect(lines(report, 'bad issue requests')).to.deep.equal([
          'an issue request with boom empty threw TypeError: kaboom in /srv/secret/path instead of a TokenSmithError with a stable code',
        ]);
        const calm = await runConformance({ ...FIXTURE, policy: { text: text.replace(', crashOn: boom', ''), file: 'open-fixture.yaml' }, recipe: { issue: {}, present: { param: 'token' } } });
        expect(result(calm, 'bad issue requests').status).to.equal('passed');
      });
    });

    describe('having a recipe that does not fit the policy', () => {
      it('fails the round trip with the refusal code', async () => {
        const report = await runConformance({ ...FIXTURE, recipe: { ...FIXTURE.recipe, issue: { client_id: 'alice', client_secret: 'wrong' } } });
        expect(lines(report, 'round trip')).to.deep.equal(['the recipe’s issue request was refused with ERR_CREDENTIAL_INVALID: CredentialInvalidError: invalid credential']);
      });
    });
  });

  describe('assertConformance', () => {
    it('throws one AssertionError listing every failed check', async () => {
      try {
        await assertConformance(LEAKY);
        expect.fail('expected an AssertionError');
      } catch (err) {
        expect(err).to.be.instanceOf(AssertionError);
        const message = (err as AssertionError).message;
        expect(message.split('\n')[0]).to.equal('the plugin fails 8 conformance check(s):');
        expect(message).to.include('✗ expiry: a token verifies until it expires and is refused after (ManualClock)\n    an expired token was accepted');
      }
    });
    it('resolves with the report when the plugin conforms', async () => {
      const report = await assertConformance(FIXTURE);
      const guardChecks = (name: string) => name.startsWith('guard');
      expect(report.results.map((r) => r.status)).to.deep.equal(CONFORMANCE_CHECKS.map((c) => (guardChecks(c.name) ? 'skipped' : 'passed')));
    });
  });
});
