import { describeConformance } from 'tokensmith/testkit';

// The conformance kit run against every built-in style with its example policy (demo defaults),
// and against the outside fixture plugin. A new style is one line here.
describeConformance('emalidate', {
  policy: 'policies/emalidate.yaml',
  recipe: { issue: {}, present: 'bearer', otherEnv: { EMALIDATE_SECRET: 'another-secret-for-the-conformance-kit-0042' } },
});
describeConformance('melissa', { policy: 'policies/melissa.yaml', recipe: { issue: { L: 'demo-melissa-licence-change-me', P: 'pkgExpressEntry' }, present: { param: 'id' } } });
describeConformance('electa', {
  policy: 'policies/electa.yaml',
  recipe: { issue: { CID: '123456', AppKey: 'UO86CN11XY73SF72TT40PG18ZE76VV71' }, verifyParams: { CID: '123456' }, present: { param: 'Token' } },
});
describeConformance('xdoc', {
  policy: 'policies/xdoc.yaml',
  recipe: { issue: {}, present: { param: 'XST' }, verifyParams: { XSC: 'DemoSecurityContext' }, otherEnv: { XDOC_KEY_HEX: 'ff'.repeat(32) } },
});
// The outside fixture plugin's own conformance spec, written as its author would (plain ESM,
// `tokensmith/testkit`, the plugin loaded by path as `--plugin` loads it).
await import(new URL('../../../../test/fixtures/outside-plugin/conformance.spec.js', import.meta.url).href);
