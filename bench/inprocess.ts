import { webcrypto } from 'node:crypto';
import { jwtVerify } from 'jose';
import { tokenRequestFrom } from '../core/request.js';
import { boot } from '../server/bootstrap.js';
import { BENCH_ENV, POLICY_FILE, XDOC_POLICY_FILE } from './env.js';
import { handIssue } from './servers.js';
import { handXdoc } from './xdoc.js';
import { JWT_ALGS, handJwt, jwtPolicyFiles, jwtPolicyId } from './hand-jwt.js';

const ROUND_MS = 1_000;
const ROUND_MAX_OPS = 500_000;
const ROUNDS = 5;

/** ops/s of `op`, run sequentially for one round (bounded in time and count). */
async function round(op: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let n = 0;
  while (n < ROUND_MAX_OPS && performance.now() - start < ROUND_MS) {
    for (let i = 0; i < 64; i++) await op();
    n += 64;
  }
  return (n * 1000) / (performance.now() - start);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Alternates ours and the baseline round by round, so drift affects both alike; medians. */
async function pair(ours: () => Promise<unknown>, baseline: () => Promise<unknown>): Promise<{ ours: number; baseline: number }> {
  const a: number[] = [];
  const b: number[] = [];
  await round(ours);
  await round(baseline);
  for (let i = 0; i < ROUNDS; i++) {
    a.push(await round(ours));
    b.push(await round(baseline));
  }
  return { ours: median(a), baseline: median(b) };
}

export interface InProcessResult {
  name: string;
  ours: number;
  baseline: number;
  target: number;
}

/**
 * The in-process pairs whose name contains one of `only` (all when empty): `emalidate`
 * (engine against raw jose), `xdoc` (engine against raw node:crypto AES) and `jwt` (engine
 * against node:crypto signing and jose verifying, with the policies written in `jwtDir`).
 */
export async function runInProcess(only: readonly string[] = [], jwtDir?: string): Promise<InProcessResult[]> {
  const wanted = (name: string) => only.length === 0 || only.some((w) => name.includes(w));
  return [
    ...(wanted('emalidate') ? await emalidatePairs() : []),
    ...(wanted('xdoc') ? await xdocPairs() : []),
    ...(wanted('jwt') && jwtDir !== undefined ? await jwtPairs(jwtDir) : []),
  ];
}

/** jwt ES256 and EdDSA through the engine against the same signature by hand (node:crypto) and jose's jwtVerify. */
async function jwtPairs(dir: string): Promise<InProcessResult[]> {
  const { engine, store } = await boot({ policies: jwtPolicyFiles(dir), store: 'memory', env: {} });
  try {
    const results: InProcessResult[] = [];
    const request = tokenRequestFrom({}, '127.0.0.1');
    for (const alg of JWT_ALGS) {
      const id = jwtPolicyId(alg);
      const hand = await handJwt(dir, alg);
      const issue = await pair(() => engine.issue(id, request), async () => hand.mint());
      const { token } = await engine.issue(id, tokenRequestFrom({ expires_in: '3600' }, '127.0.0.1'));
      await hand.verify(token);
      const verify = await pair(() => engine.verify(id, token, request), () => hand.verify(token));
      results.push({ name: `jwt ${alg} engine.issue vs node:crypto sign`, ...issue, target: 0.8 }, { name: `jwt ${alg} engine.verify vs jose jwtVerify`, ...verify, target: 0.8 });
    }
    return results;
  } finally {
    await store.close();
  }
}

/** engine.issue / engine.verify against raw jose with a key imported once. */
async function emalidatePairs(): Promise<InProcessResult[]> {
  const { engine, store } = await boot({ policies: [POLICY_FILE], store: 'memory', env: BENCH_ENV });
  try {
    const raw = new TextEncoder().encode(BENCH_ENV['EMALIDATE_SECRET']);
    const key = await webcrypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    const request = tokenRequestFrom({}, '127.0.0.1');
    const issue = await pair(() => engine.issue('emalidate', request), () => handIssue(key));
    const token = (await engine.issue('emalidate', tokenRequestFrom({ expires_in: '3600' }, '127.0.0.1'))).token;
    const verify = await pair(
      () => engine.verify('emalidate', token, request),
      () => jwtVerify(token, key, { algorithms: ['HS256'], issuer: 'emalidate.com' }),
    );
    return [
      { name: 'engine.issue vs jose SignJWT', ...issue, target: 0.8 },
      { name: 'engine.verify vs jose jwtVerify', ...verify, target: 0.8 },
    ];
  } finally {
    await store.close();
  }
}

/** XST mint and verify through the engine (policies/xdoc.yaml: AES-256-CBC, XML) against raw node:crypto. */
async function xdocPairs(): Promise<InProcessResult[]> {
  const { engine, store } = await boot({ policies: [XDOC_POLICY_FILE], store: 'memory', env: BENCH_ENV });
  try {
    const context = BENCH_ENV['XDOC_CONTEXT'] as string;
    const hand = handXdoc(BENCH_ENV['XDOC_KEY_HEX'] as string, BENCH_ENV['XDOC_INIT_VECTOR'] as string, {
      context, appId: 'tokensmith-demo', appKey: BENCH_ENV['XDOC_APPKEY'] as string,
    });
    const anyone = tokenRequestFrom({}, '127.0.0.1');
    const receive = tokenRequestFrom({ XSC: context }, '127.0.0.1');
    const mint = await pair(() => engine.issue('xdoc', anyone), async () => hand.mint(Date.now()));
    const { token } = await engine.issue('xdoc', anyone);
    if (hand.verify(token, context)['AppId'] !== 'tokensmith-demo') throw new Error('the baseline cannot read our token');
    const verify = await pair(() => engine.verify('xdoc', token, receive), async () => hand.verify(token, context));
    return [
      { name: 'xdoc engine.issue (XST+XUT) vs raw node:crypto AES', ...mint, target: 0.7 },
      { name: 'xdoc engine.verify (XST) vs raw node:crypto AES', ...verify, target: 0.7 },
    ];
  } finally {
    await store.close();
  }
}
