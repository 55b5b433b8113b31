/**
 * The `jwt` style's benchmark pairs: policies (ES256 and EdDSA, keys made once per run and
 * shared with the server processes through `BENCH_JWT_DIR`), and what a user would hand-write
 * for the same job: sign with node:crypto, verify with jose's `jwtVerify` and a key imported once.
 */
import { createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa, { type Context, type Next } from 'koa';
import { Counter, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import { importSPKI, jwtVerify, type CryptoKey } from 'jose';

export const JWT_ALGS = ['ES256', 'EdDSA'] as const;
export type JwtAlg = (typeof JWT_ALGS)[number];
const ISSUER = 'https://bench.test';
const AUDIENCE = 'bench-api';
const SUBJECT = 'bench-user';

/** Policy id (and route prefix) of an algorithm's bench policy. */
export const jwtPolicyId = (alg: JwtAlg): string => `jwt-${alg.toLowerCase()}`;

/** Writes a key and a policy per algorithm into a new folder; its path (give it as `BENCH_JWT_DIR`). */
export function writeJwtBench(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tokensmith-bench-jwt-'));
  for (const alg of JWT_ALGS) {
    const { privateKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
    const id = jwtPolicyId(alg);
    writeFileSync(join(dir, `${id}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    writeFileSync(
      join(dir, `${id}.yaml`),
      [
        `id: ${id}`,
        'style: jwt',
        `route: { path: /${id}/token, methods: [POST] }`,
        `protectedRoute: { path: /${id}/demo, methods: [GET] }`,
        'ttl: { default: 5m, min: 30s, max: 1h }',
        'output: { default: json, allowed: [json] }',
        'reuse: true',
        'jwt:',
        `  issuer: ${ISSUER}`,
        `  audience: ${AUDIENCE}`,
        `  subject: ${SUBJECT}`,
        `  keys: [{ kid: bench-${alg.toLowerCase()}, alg: ${alg}, private: "\${file:${id}.pem}" }]`,
        '',
      ].join('\n'),
    );
  }
  return dir;
}

export const jwtPolicyFiles = (dir: string): string[] => JWT_ALGS.map((alg) => join(dir, `${jwtPolicyId(alg)}.yaml`));

/** The hand-written signer and verifier for one algorithm, with the bench policy's key. */
export async function handJwt(dir: string, alg: JwtAlg): Promise<{ mint(): string; verify(token: string): Promise<unknown> }> {
  const key: KeyObject = (await import('node:crypto')).createPrivateKey(readFileSync(join(dir, `${jwtPolicyId(alg)}.pem`), 'utf8'));
  const publicKey: CryptoKey = await importSPKI(createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string, alg);
  const header = Buffer.from(JSON.stringify({ alg, typ: 'JWT', kid: `bench-${alg.toLowerCase()}` })).toString('base64url');
  const options = alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' as const } : key;
  const hash = alg === 'ES256' ? 'sha256' : null;
  return {
    mint() {
      const iat = Math.floor(Date.now() / 1000);
      const payload = { iss: ISSUER, sub: SUBJECT, aud: AUDIENCE, iat, nbf: iat, exp: iat + 300, jti: randomUUID() };
      const input = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
      return `${input}.${sign(hash, Buffer.from(input), options).toString('base64url')}`;
    },
    verify: (token) => jwtVerify(token, publicKey, { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE }),
  };
}

/**
 * A Koa app with the hand-written issue and verify routes of both algorithms, on the bench
 * policies' paths. With a `logger` it is the guarded form, the same job as ours by hand: one
 * pino line, a latency histogram and a counter per request (as `guardedHandSessions`), and
 * a revoked-token check by `jti` on verify (a deny list in a `Set`).
 */
export async function handJwtApp(dir: string, logger?: Logger): Promise<Koa> {
  const routes = new Map<string, Awaited<ReturnType<typeof handJwt>>>();
  for (const alg of JWT_ALGS) routes.set(jwtPolicyId(alg), await handJwt(dir, alg));
  const denied = new Set<string>();
  const koa = new Koa();
  if (logger !== undefined) {
    const registry = new Registry();
    const latency = new Histogram({ name: 'hand_seconds', help: 'latency', labelNames: ['kind', 'policy'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01], registers: [registry] });
    const outcomes = new Counter({ name: 'hand_total', help: 'requests', labelNames: ['kind', 'policy', 'outcome'], registers: [registry] });
    koa.use(async function logAndCount(ctx: Context, next: Next) {
      const start = performance.now();
      await next();
      const [, policy, what] = /^\/([^/]+)\/(token|demo)$/.exec(ctx.path) ?? [];
      if (policy === undefined) return;
      const kind = what === 'token' ? 'issue' : 'verify';
      const ms = performance.now() - start;
      const outcome = ctx.status === 200 ? 'ok' : 'refused';
      latency.labels(kind, policy).observe(ms / 1000);
      outcomes.labels(kind, policy, outcome).inc();
      logger.info({ kind, policy, path: ctx.path, method: ctx.method, status: ctx.status, outcome, ms: Math.round(ms * 1000) / 1000, client: ctx.req.socket.remoteAddress }, 'token request');
    });
  }
  koa.use(async (ctx) => {
    const [, id, what] = /^\/([^/]+)\/(token|demo)$/.exec(ctx.path) ?? [];
    const hand = id === undefined ? undefined : routes.get(id);
    if (hand === undefined) return;
    if (what === 'token' && ctx.method === 'POST') {
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({ token: hand.mint(), expires_in: 300 });
      ctx.set('cache-control', 'no-store');
    } else if (what === 'demo' && ctx.method === 'GET') {
      const token = /^Bearer (\S+)$/.exec(ctx.get('authorization'))?.[1];
      try {
        const { payload } = (await hand.verify(token ?? '')) as { payload: { sub?: string; scope?: string; exp?: number; jti?: string } };
        if (logger !== undefined && denied.has(`${id}:${payload.jti}`)) throw new Error('revoked');
        ctx.body = { ok: true, sub: payload.sub, exp: payload.exp };
      } catch {
        ctx.status = 401;
      }
    }
  });
  return koa;
}
