import { describeConformance } from 'tokensmith/testkit';
import { FIXTURE_PLUGIN, FIXTURE_POLICY } from '../../helpers/boot.js';

// The conformance kit run against every built-in style with its example policy (demo defaults),
// and against the outside fixture plugin loaded by path, as `--plugin` loads it.
// A new style is one line here.
describeConformance('emalidate', {
  policy: 'policies/emalidate.yaml',
  recipe: { issue: {}, present: 'bearer', otherEnv: { EMALIDATE_SECRET: 'another-secret-for-the-conformance-kit-0042' } },
});
describeConformance('melissa', { policy: 'policies/melissa.yaml', recipe: { issue: { L: 'demo-melissa-licence-change-me', P: 'pkgExpressEntry' }, present: { param: 'id' } } });
describeConformance('electa', {
  policy: 'policies/electa.yaml',
  recipe: { issue: { CID: '123456', AppKey: 'UO86CN11XY73SF72TT40PG18ZE76VV71' }, verifyParams: { CID: '123456' }, present: { param: 'Token' } },
});
describeConformance('outside fixture plugin (by path)', {
  plugins: [FIXTURE_PLUGIN],
  policy: FIXTURE_POLICY,
  recipe: { issue: { client_id: 'alice', client_secret: 'alice-secret-0001' }, present: { param: 'token' } },
});
