import { describeConformance, type ConformanceRecipe } from 'tokensmith/testkit';
import { registryOf } from '../../helpers/names.js';

// The conformance kit run against every built-in style the registry knows, with its example
// policy (`policies/<style>.yaml`, demo defaults) and the recipe below, and against the outside
// fixture plugin. A new built-in style gets a run as soon as it is registered: without a recipe
// here, its run fails and says so.
const RECIPES: Readonly<Record<string, ConformanceRecipe>> = {
  emalidate: { issue: {}, present: 'bearer', otherEnv: { EMALIDATE_SECRET: 'another-secret-for-the-conformance-kit-0042' } },
  // The example key comes from a file, so the other policy differs by its audience: a token of one is no token of the other.
  jwt: { issue: { client_id: 'demo-client', client_secret: 'demo-client-secret-change-me' }, present: 'bearer', otherEnv: { JWT_AUDIENCE: 'another-audience' } },
  melissa: { issue: { L: 'demo-melissa-licence-change-me', P: 'pkgExpressEntry' }, present: { param: 'id' } },
  electa: { issue: { CID: '123456', AppKey: 'UO86CN11XY73SF72TT40PG18ZE76VV71' }, verifyParams: { CID: '123456' }, present: { param: 'Token' } },
  xdoc: { issue: {}, present: { param: 'XST' }, verifyParams: { XSC: 'DemoSecurityContext' }, otherEnv: { XDOC_KEY_HEX: 'ff'.repeat(32) } },
};

for (const style of (await registryOf()).styles.keys()) {
  const recipe = RECIPES[style];
  if (recipe === undefined) {
    describe(`conformance: ${style}`, () => {
      it('has a recipe in test/server/testkit/builtins.test.ts', () => {
        throw new Error(`built-in style "${style}" has no conformance recipe: add one (and policies/${style}.yaml)`);
      });
    });
  } else describeConformance(style, { policy: `policies/${style}.yaml`, recipe });
}
// The outside fixture plugin's own conformance spec, written as its author would (plain ESM,
// `tokensmith/testkit`, the plugin loaded by path as `--plugin` loads it).
await import(new URL('../../../../test/fixtures/outside-plugin/conformance.spec.js', import.meta.url).href);
