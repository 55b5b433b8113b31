/** Settings every benchmark process shares, so tokens minted in one verify in another. */
export const BENCH_ENV: Readonly<Record<string, string>> = {
  EMALIDATE_SECRET: 'bench-secret-phrase-of-a-reasonable-length-0123456789',
  EMALIDATE_KID: 'bench-kid',
  EMALIDATE_USER_ID: 'bench-user',
  EMALIDATE_ISSUER: 'emalidate.com',
  MELISSA_LICENSE: 'bench-melissa-licence-0123456789',
  ELECTA_CID: '11267192',
  ELECTA_APPKEY: 'BENCH-ELECTA-APPKEY-0123456789ABCDEF',
  XDOC_KEY_HEX: '6a1f0c7b2d9e4a8f3b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f901a2b',
  XDOC_INIT_VECTOR: 'Bench#1x',
  XDOC_CONTEXT: 'BenchContext',
  XDOC_APPKEY: 'bench-xdoc-appkey-0123456789',
};

export const POLICY_FILE = 'policies/emalidate.yaml';
export const XDOC_POLICY_FILE = 'policies/xdoc.yaml';
/** Every example policy, for the server that serves them all. */
export const ALL_POLICIES = ['policies/emalidate.yaml', 'policies/melissa.yaml', 'policies/electa.yaml'];
