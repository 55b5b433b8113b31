/** Settings every benchmark process shares, so tokens minted in one verify in another. */
export const BENCH_ENV: Readonly<Record<string, string>> = {
  EMALIDATE_SECRET: 'bench-secret-phrase-of-a-reasonable-length-0123456789',
  EMALIDATE_KID: 'bench-kid',
  EMALIDATE_USER_ID: 'bench-user',
  EMALIDATE_ISSUER: 'emalidate.com',
};

export const POLICY_FILE = 'policies/emalidate.yaml';
