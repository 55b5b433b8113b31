import { expect } from 'chai';
import { PluginLoadError, PolicyInvalidError, type PolicyIssue } from '../../../core/errors.js';
import { loadPolicies, loadPolicyText, type PolicyCatalog } from '../../../core/policy/load.js';
import type { StyleManifest } from '../../../core/ports.js';
import { builtinGuards } from '../../../plugins/guards/index.js';
import { policyKeys } from '../../helpers/names.js';

const demo: StyleManifest = {
  name: 'demo',
  kind: 'opaque',
  settingsRequired: false,
  settingsSchema: { type: 'object', additionalProperties: false, properties: { greeting: { type: 'string' } } },
  check: (settings) => (settings['greeting'] === 'boo' ? [{ path: '/greeting', message: 'greeting must be friendly' }] : []),
};
const strict: StyleManifest = {
  name: 'strict',
  kind: 'self-contained',
  settingsRequired: true,
  settingsSchema: { type: 'object', additionalProperties: false, required: ['key'], properties: { key: { type: 'string' } } },
};
/** The built-in guards own ttl, ipBinding, lockout, output and reuse. */
const guards = new Map(builtinGuards.map((guard) => [guard.name, guard]));
const catalog: PolicyCatalog = { styles: new Map([['demo', demo], ['strict', strict]]), encoders: new Set(['json', 'demo-xml']), guards };
const FILE = '/policies/p.yaml';

function issuesOf(text: string, env: Record<string, string> = {}): PolicyIssue[] {
  try {
    loadPolicyText(text, FILE, { catalog, env });
  } catch (err) {
    if (err instanceof PolicyInvalidError) return [...err.issues];
    throw err;
  }
  throw new Error('expected the policy to be refused');
}
const brief = (issues: PolicyIssue[]) => issues.map((i) => `${i.line}:${i.col} ${i.path} ${i.message}`);
const load = (text: string, env: Record<string, string> = {}) => loadPolicyText(text, FILE, { catalog, env });

describe('core/policy/load', () => {
  describe('loadPolicyText', () => {
    describe('having a minimal policy', () => {
      it('fills in every default', () => {
        const { policies, warnings } = load('id: p\nstyle: demo\n');
        expect(warnings).to.deep.equal([]);
        expect(policies[0]).to.deep.equal({
          id: 'p', style: 'demo', source: FILE, caseInsensitiveParams: false, caseInsensitivePaths: false, logParams: [], routes: [], protectedRoutes: [],
          ttl: { defaultMs: 300_000, minMs: 1_000, maxMs: 86_400_000 },
          ipBinding: { mode: 'off', param: 'IP' },
          output: { default: 'json', allowed: ['json'] },
          reuse: true, settings: {}, rules: {},
        });
      });
    });

    describe('having every key', () => {
      const text = [
        'id: full', 'style: demo', 'description: all keys',
        'route: { path: /t, methods: [GET] }', 'protectedRoute: { path: /p }',
        'params: { caseInsensitive: true }',
        'credentials:', '  - id: c1', '    secret: s1', '    scopes: [a, b]', '    subject: u1', '  - secret: s2',
        'ttl: { default: 20m, min: 300s, max: 99h }',
        'ipBinding: { mode: param, param: Addr }',
        'lockout: { threshold: 5, window: 15m, duration: 1h, per: [credential, address] }',
        'output: { param: Result, default: XML, allowed: [json, xml] }',
        'reuse: false', 'demo: { greeting: hi }',
      ].join('\n');
      it('builds the frozen policy with durations in ms', () => {
        const policy = load(text).policies[0];
        expect(policy).to.deep.equal({
          id: 'full', style: 'demo', description: 'all keys', source: FILE,
          routes: [{ path: '/t', methods: ['GET'] }], protectedRoutes: [{ path: '/p', methods: ['GET', 'POST'] }],
          caseInsensitiveParams: true, caseInsensitivePaths: false,
          credentials: [{ id: 'c1', secret: 's1', scopes: ['a', 'b'], subject: 'u1' }, { secret: 's2' }],
          ttl: { defaultMs: 1_200_000, minMs: 300_000, maxMs: 356_400_000 },
          ipBinding: { mode: 'param', param: 'Addr' },
          lockout: { threshold: 5, windowMs: 900_000, durationMs: 3_600_000, per: ['credential', 'address'] },
          output: { param: 'Result', default: 'xml', allowed: ['json', 'xml'] },
          reuse: false, logParams: [], settings: { greeting: 'hi' },
          rules: {
            ttl: { default: '20m', min: '300s', max: '99h' },
            ipBinding: { mode: 'param', param: 'Addr' },
            lockout: { threshold: 5, window: '15m', duration: '1h', per: ['credential', 'address'] },
            output: { param: 'Result', default: 'XML', allowed: ['json', 'xml'] },
            reuse: false,
          },
        });
      });
      it('is deeply frozen', () => {
        const policy = load(text).policies[0] as unknown as { ttl: { defaultMs: number }; credentials: { secret: string }[] };
        expect(Object.isFrozen(policy)).to.equal(true);
        expect(() => { policy.ttl.defaultMs = 1; }).to.throw(TypeError, /read only|read-only/);
        expect(() => { (policy.credentials[0] as { secret: string }).secret = 'x'; }).to.throw(TypeError, /read only|read-only/);
      });
    });

    describe('having schema errors', () => {
      it('reports an unknown key at the key itself, with the allowed keys', () => {
        expect(brief(issuesOf('id: p\nstyle: demo\nttl:\n  default: 5m\n  mxa: 1h\n'))).to.deep.equal([
          '5:3 /ttl/mxa unknown key "mxa"; allowed keys: default, min, max',
        ]);
      });
      it('reports every error of the file at once', () => {
        const issues = brief(issuesOf('id: P!\nstyle: demo\ntll: 5m\nttl: { default: 5 minutes }\nreuse: "yes"\n'));
        expect(issues).to.deep.equal([
          '1:5 /id expected text matching ^[a-z0-9][a-z0-9-]{0,62}$; got string "P!"',
          `3:1 /tll unknown key "tll"; did you mean "ttl"? allowed keys: ${policyKeys(catalog)}`,
          '4:17 /ttl/default expected a duration such as 300s, 20m or 99h; got string "5 minutes"',
          '5:8 /reuse expected boolean, got string "yes"',
        ]);
      });
      it('reports missing required keys and wrong enum values', () => {
        expect(brief(issuesOf('id: p\nstyle: demo\nlockout: { threshold: 5, window: 1m }\nipBinding: sometimes\n'))).to.deep.equal([
          '3:10 /lockout missing required key "duration"',
          '4:12 /ipBinding expected one of: off, param, caller, required; got string "sometimes"',
        ]);
      });
      it('reports a YAML syntax error with its position', () => {
        const [issue] = issuesOf('id: p\nstyle: [demo\n');
        expect(issue?.file).to.equal(FILE);
        expect(issue?.message).to.match(/^YAML: /);
        expect(issue?.line).to.be.greaterThan(1);
      });
      it('refuses a document that is not a mapping', () => {
        expect(brief(issuesOf('- a\n- b\n'))).to.deep.equal(['1:1  expected a mapping with at least id and style']);
      });
    });

    describe('semantic checks', () => {
      it('style-known: lists the known styles', () => {
        expect(brief(issuesOf('id: p\nstyle: nope\n'))).to.deep.equal(['2:8 /style unknown style "nope"; known styles: demo, strict']);
      });
      it('style-settings: a required block missing, and a block of another style', () => {
        expect(brief(issuesOf('id: p\nstyle: strict\ndemo: {}\n'))).to.deep.equal([
          '1:1  missing the "strict" settings block that style strict requires',
          '3:1 /demo block "demo" does not apply to style "strict"',
        ]);
      });
      it('ttl-order: min ≤ default ≤ max', () => {
        expect(brief(issuesOf('id: p\nstyle: demo\nttl: { default: 2h, min: 1m, max: 1h }\n'))).to.deep.equal([
          '3:17 /ttl/default expected min ≤ default ≤ max; got default 2h with min 1m and max 1h',
        ]);
      });
      it('output: the default must be allowed and each format must have an encoder', () => {
        expect(brief(issuesOf('id: p\nstyle: demo\noutput: { default: csv, allowed: [json, csv] }\n'))).to.deep.equal([
          '3:41 /output/allowed/1 no reply encoder for format "csv" (looked for "demo-csv" and "csv"); registered encoders: demo-xml, json',
        ]);
        expect(brief(issuesOf('id: p\nstyle: demo\noutput: { default: xml, allowed: [json] }\n'))).to.deep.equal([
          '3:20 /output/default default format "xml" is not in allowed (json)',
        ]);
      });
      it('credentials: unique ids, and lockout per credential needs credentials', () => {
        const text = 'id: p\nstyle: demo\ncredentials:\n  - { id: a, secret: x }\n  - { id: a, secret: y }\n';
        expect(brief(issuesOf(text))).to.deep.equal(['5:11 /credentials/1/id credential id "a" is listed twice']);
        expect(brief(issuesOf('id: p\nstyle: demo\nlockout: { threshold: 3, window: 1m, duration: 1m }\n'))).to.deep.equal([
          '3:10 /lockout lockout per credential needs a credentials list',
        ]);
      });
      it('style-check: the style’s own check, positioned inside its block', () => {
        expect(brief(issuesOf('id: p\nstyle: demo\ndemo:\n  greeting: boo\n'))).to.deep.equal(['4:13 /demo/greeting greeting must be friendly']);
      });
    });

    describe('routes', () => {
      it('accepts a list of routes with a fixed format, presets, caller binding, required values and scopes', () => {
        const text = [
          'id: p', 'style: demo', 'output: { default: json, allowed: [json, xml] }',
          'route:', '  - { path: /a, methods: [GET], format: XML }',
          '  - path: /b', '    methods: [POST]', '    preset: { L: "${env:LIC}" }', '    bindCaller: true', '    require: { function: gettoken }',
          'protectedRoute: [{ path: /c, scopes: [pkgA] }]',
        ].join('\n');
        const policy = load(text, { LIC: 'secret-licence' }).policies[0];
        expect(policy?.routes).to.deep.equal([
          { path: '/a', methods: ['GET'], format: 'xml' },
          { path: '/b', methods: ['POST'], preset: { L: 'secret-licence' }, bindCaller: true, require: { function: 'gettoken' } },
        ]);
        expect(policy?.protectedRoutes).to.deep.equal([{ path: '/c', methods: ['GET', 'POST'], scopes: ['pkgA'] }]);
      });
      it('refuses a route format the policy does not allow, and a path used twice', () => {
        const text = 'id: p\nstyle: demo\nroute:\n  - { path: /a, format: csv }\nprotectedRoute: { path: /a }\n';
        expect(brief(issuesOf(text))).to.deep.equal([
          '4:25 /route/0/format format "csv" is not in output.allowed (json)',
          '5:25 /protectedRoute/path path /a is used twice in this policy',
        ]);
      });
    });

    describe('secret references', () => {
      it('resolves ${env:NAME} without a warning', () => {
        const { policies, warnings } = load('id: p\nstyle: demo\ncredentials: [{ secret: "${env:KEY}" }]\n', { KEY: 'k3y' });
        expect(policies[0]?.credentials?.[0]?.secret).to.equal('k3y');
        expect(warnings).to.deep.equal([]);
      });
      it('uses ${env:NAME:-default} with a warning naming the variable, not the value', () => {
        const { policies, warnings } = load('id: p\nstyle: demo\ncredentials:\n  - secret: ${env:KEY:-demo-value}\n');
        expect(policies[0]?.credentials?.[0]?.secret).to.equal('demo-value');
        expect(brief(warnings)).to.deep.equal([
          '4:13 /credentials/0/secret KEY is not set: using the demo default written in the policy — set it before production use',
        ]);
      });
      it('reports a missing variable at its position, naming the reference only', () => {
        expect(brief(issuesOf('id: p\nstyle: demo\ncredentials:\n  - secret: ${env:NOPE}\n'))).to.deep.equal([
          '4:13 /credentials/0/secret ${env:NOPE} is not set',
        ]);
      });
      it('reads ${file:path} relative to the policy file, without the trailing newline', () => {
        const file = 'test/fixtures/policies/p.yaml';
        const { policies } = loadPolicyText('id: p\nstyle: demo\ncredentials: [{ secret: "${file:secrets/appkey.txt}" }]\n', file, { catalog, env: {} });
        expect(policies[0]?.credentials?.[0]?.secret).to.equal('from-a-file');
        const issues = (() => {
          try {
            loadPolicyText('id: p\nstyle: demo\ncredentials: [{ secret: "${file:secrets/none.txt}" }]\n', file, { catalog, env: {} });
          } catch (err) {
            return (err as PolicyInvalidError).issues;
          }
          return [];
        })();
        expect(brief([...issues])).to.deep.equal(['3:25 /credentials/0/secret ${file:secrets/none.txt} cannot be read (ENOENT)']);
      });
      it('keeps $${ as a literal ${ and refuses unknown reference kinds', () => {
        const { policies } = load('id: p\nstyle: demo\ndescription: "costs $${price}"\n');
        expect(policies[0]?.description).to.equal('costs ${price}');
        expect(brief(issuesOf('id: p\nstyle: demo\ndescription: "${vault:x}"\n'))[0]).to.match(/^3:14 \/description \$\{vault:x\} is not a reference tokensmith knows/);
      });
      it('validates resolved values, and never shows a secret in a message', () => {
        const issues = issuesOf('id: p\nstyle: demo\nttl: { default: "${env:TTL}" }\n', { TTL: 'hunter2-secret' });
        expect(brief(issues)).to.deep.equal(['3:17 /ttl/default expected a duration such as 300s, 20m or 99h; got string from "${env:TTL}" (value not shown)']);
      });
    });
  });

  describe('having a style whose settings schema is not valid JSON Schema', () => {
    it('fails with ERR_PLUGIN_LOAD naming the style, not with a raw ajv error', () => {
      const broken: StyleManifest = { name: 'broken', kind: 'opaque', settingsRequired: false, settingsSchema: { type: 'object', propertys: {} } };
      const styles = new Map([['demo', demo], ['broken', broken]]);
      try {
        loadPolicyText('id: p\nstyle: demo\n', FILE, { catalog: { styles, encoders: new Set(['json']), guards }, env: {} });
        expect.fail('expected PluginLoadError');
      } catch (err) {
        expect(err).to.be.instanceOf(PluginLoadError);
        expect((err as PluginLoadError).code).to.equal('ERR_PLUGIN_LOAD');
        expect((err as Error).message).to.match(/^style "broken" declares a settings schema that is not valid JSON Schema: strict mode: unknown keyword: "propertys"/);
      }
    });
  });

  describe('loadPolicies', () => {
    it('loads a directory’s *.yaml and *.yml files, sorted', async () => {
      const { policies } = await loadPolicies(['test/fixtures/policies/dir'], { catalog, env: {} });
      expect(policies.map((p) => p.id)).to.deep.equal(['a', 'b']);
    });
    it('reports duplicate ids and routes across files, and missing paths', async () => {
      try {
        await loadPolicies(['test/fixtures/policies/dir', 'test/fixtures/policies/dir/a.yaml', 'no/such/dir'], { catalog, env: {} });
        expect.fail('expected PolicyInvalidError');
      } catch (err) {
        expect(err).to.be.instanceOf(PolicyInvalidError);
        expect((err as PolicyInvalidError).issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.message}`)).to.deep.equal([
          'no/such/dir:1:1 cannot read policy path (ENOENT)',
          'test/fixtures/policies/dir/a.yaml:1:5 policy id "a" is already used in test/fixtures/policies/dir/a.yaml:1:5',
          'test/fixtures/policies/dir/a.yaml:3:16 GET /a is already served by policy a',
          'test/fixtures/policies/dir/a.yaml:3:16 POST /a is already served by policy a',
        ]);
        expect((err as PolicyInvalidError).code).to.equal('ERR_POLICY_INVALID');
      }
    });
  });
});
