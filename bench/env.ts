/** Settings every benchmark process shares, so tokens minted in one verify in another. */
export const BENCH_ENV: Readonly<Record<string, string>> = {
  EMALIDATE_SECRET: 'bench-secret-phrase-of-a-reasonable-length-0123456789',
  EMALIDATE_KID: 'bench-kid',
  EMALIDATE_USER_ID: 'bench-user',
  EMALIDATE_ISSUER: 'emalidate.com',
  MELISSA_LICENSE: 'bench-melissa-licence-0123456789',
  ELECTA_CID: '11267192',
  ELECTA_APPKEY: 'BENCH-ELECTA-APPKEY-0123456789ABCDEF',
};

export const POLICY_FILE = 'policies/emalidate.yaml';
/** Every example policy, for the server that serves them all. */
export const ALL_POLICIES = ['policies/emalidate.yaml', 'policies/melissa.yaml', 'policies/electa.yaml'];
