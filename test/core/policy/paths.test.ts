import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyInvalidError, type PolicyIssue } from '../../../core/errors.js';
import { loadPolicies, loadPolicyText } from '../../../core/policy/load.js';
import { foldPath } from '../../../core/policy/paths.js';
import { assemble } from '../../../core/container.js';
import { builtinModules } from '../../../plugins/index.js';
import type { PolicyCatalog } from '../../../core/policy/load.js';

const messages = (err: unknown): string[] => {
  if (!(err instanceof PolicyInvalidError)) throw err;
  return err.issues.map((i: PolicyIssue) => `${i.path} ${i.message}`);
};

describe('core/policy/paths (route paths matched with one folded lookup)', () => {
  let catalog: PolicyCatalog;
  before(async () => {
    const { registry, store } = await assemble({ modules: builtinModules });
    await store.close();
    catalog = registry;
  });

  describe('foldPath', () => {
    it('folds ASCII letters only: the Kelvin sign and dotted capital I stay as they are', () => {
      expect(foldPath('/V3/JSON/Service.svc/RequestToken')).to.equal('/v3/json/service.svc/requesttoken');
      expect(foldPath('/to\u212Aen.asp')).to.equal('/to\u212Aen.asp');
      expect(foldPath('/\u0130d')).to.equal('/\u0130d');
      expect(foldPath('/already/lower')).to.equal('/already/lower');
    });
  });

  describe('checks', () => {
    const electa = (routes: string) => `id: e\nstyle: electa\n${routes}\n`;
    it('refuse two paths of one policy that differ only in letter case', () => {
      let problems: string[] = [];
      try {
        loadPolicyText(electa('route: { path: /apps/token.asp }\nprotectedRoute: { path: /Apps/Token.asp }'), 'e.yaml', { catalog, env: {} });
      } catch (err) {
        problems = messages(err);
      }
      expect(problems).to.deep.equal([
        '/protectedRoute/path path /Apps/Token.asp differs from /apps/token.asp only in letter case; routes are matched without regard to case, so only one can be served',
      ]);
    });
    it('refuse two policies whose paths fold alike, whether or not either matches in any case', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tokensmith-paths-'));
      try {
        await writeFile(join(dir, 'a.yaml'), electa('route: { path: /apps/token.asp, methods: [GET] }').replace('id: e', 'id: a'));
        await writeFile(join(dir, 'b.yaml'), electa('route: { path: /APPS/token.asp, methods: [GET] }').replace('id: e', 'id: b'));
        let problems: string[] = [];
        try {
          await loadPolicies([dir], { catalog, env: {} });
        } catch (err) {
          problems = messages(err);
        }
        expect(problems).to.deep.equal([
          '/route/path GET /APPS/token.asp differs from /apps/token.asp of policy a only in letter case; routes are matched without regard to case, so only one can be served',
        ]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
    it('refuse a Melissa route at the path where getversion answers', () => {
      const text = 'id: m\nstyle: melissa\nroute:\n  - { path: /v3/json/Service.svc/RequestToken }\n  - { path: /V3/JSON/Service.svc/GetVersion }\n';
      let problems: string[] = [];
      try {
        loadPolicyText(text, 'm.yaml', { catalog, env: {} });
      } catch (err) {
        problems = messages(err);
      }
      expect(problems).to.deep.equal([
        "/melissa route /v3/json/Service.svc/RequestToken: /v3/json/Service.svc/getversion answers Melissa's getversion there, so no route may use that path",
      ]);
    });
    it('read paths.caseInsensitive, false by default', () => {
      const [on] = loadPolicyText(electa('paths: { caseInsensitive: true }'), 'e.yaml', { catalog, env: {} }).policies;
      const [off] = loadPolicyText(electa(''), 'e.yaml', { catalog, env: {} }).policies;
      expect([on?.caseInsensitivePaths, off?.caseInsensitivePaths]).to.deep.equal([true, false]);
    });
  });
});
