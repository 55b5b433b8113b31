/**
 * One benchmark server per process: `node dist/bench/servers.js <kind> <port>`; prints
 * `READY <port>` when listening. Kinds: the framework's ceiling (`bare`), what a user would
 * hand-write with jose (`jose-issue`, `jose-verify`; `hand-jwt` for the jwt style), and ours (`ours`, `ours-redis`, and
 * `ours-limited`: the Melissa policy with a rate limit that refuses nothing).
 * Ours runs as `tokensmith serve` does: a pino JSON line per request to an asynchronous file
 * destination (a temporary file, removed on exit; `BENCH_LOG=/dev/null` to discard) and the
 * metrics counted; the baselines neither log nor count, so the ratios include that cost, except
 * `hand-sessions-guarded`, which logs through the same logger and counts with prom-client.
 */
import { createServer } from 'node:http';
import { randomUUID, webcrypto } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import { SignJWT, jwtVerify } from 'jose';
import { boot } from '../server/bootstrap.js';
import { createApp } from '../server/app.js';
import { createLogger } from '../server/logging.js';
import { ALL_POLICIES, BENCH_ENV } from './env.js';
import { guardedHandSessions, handSessions } from './hand-sessions.js';
import { rateLimitedPolicies } from './rate-limit.js';
import { handJwtApp, jwtPolicyFiles } from './hand-jwt.js';

async function hmacKey(): Promise<webcrypto.CryptoKey> {
  const raw = new TextEncoder().encode(BENCH_ENV['EMALIDATE_SECRET']);
  return webcrypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** The JWT a user would mint by hand: same header and claims as the emalidate style. */
export async function handIssue(key: webcrypto.CryptoKey): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const kid = BENCH_ENV['EMALIDATE_KID'] as string;
  return new SignJWT({ iss: 'emalidate.com', sub: 'bench-user', iat, exp: iat + 300, jti: randomUUID(), kid })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid })
    .sign(key);
}

async function app(kind: string): Promise<Koa> {
  if (kind === 'ours' || kind === 'ours-redis' || kind === 'ours-limited') {
    // An issue case makes more sessions within their lifetime (Electa's 20 minutes) than the memory
    // store's default bound, and Electa and Melissa answer a full store with 200: a bound above
    // what the bench issues keeps it measuring issues rather than refusals.
    const store = kind === 'ours-redis' ? (process.env['BENCH_REDIS_URL'] as string) : 'memory:?maxEntries=100000000';
    const jwtDir = process.env['BENCH_JWT_DIR'];
    const policies = kind === 'ours-limited' ? rateLimitedPolicies() : [...ALL_POLICIES, ...(jwtDir ? jwtPolicyFiles(jwtDir) : [])];
    const { engine } = await boot({ policies, store, env: BENCH_ENV });
    return createApp({ engine, logger: createLogger({ destination: LOG_FILE }) });
  }
  if (kind === 'hand-sessions') return handSessions();
  if (kind === 'hand-jwt') return handJwtApp(process.env['BENCH_JWT_DIR'] as string);
  if (kind === 'hand-jwt-guarded') return handJwtApp(process.env['BENCH_JWT_DIR'] as string, createLogger({ destination: LOG_FILE }));
  if (kind === 'hand-sessions-guarded') return guardedHandSessions(createLogger({ destination: LOG_FILE }));
  const koa = new Koa();
  if (kind === 'bare') {
    const body = 'x'.repeat(Number(process.env['BENCH_BODY_SIZE'] ?? 300));
    koa.use((ctx) => {
      ctx.type = 'application/json';
      ctx.body = body;
    });
    return koa;
  }
  const key = await hmacKey();
  if (kind === 'jose-issue') {
    koa.use(async (ctx) => {
      if (ctx.method !== 'POST' || ctx.path !== '/emalidate/token') return;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({ token: await handIssue(key), expires_in: 300 });
    });
    return koa;
  }
  if (kind === 'jose-verify') {
    koa.use(async (ctx) => {
      const token = /^Bearer (\S+)$/.exec(ctx.get('authorization'))?.[1];
      try {
        const { payload } = await jwtVerify(token ?? '', key, { algorithms: ['HS256'], issuer: 'emalidate.com' });
        ctx.body = { ok: true, sub: payload.sub };
      } catch {
        ctx.status = 401;
      }
    });
    return koa;
  }
  throw new TypeError(`unknown server kind ${kind}`);
}

/** Where our server logs during the benchmark (removed on exit unless it is /dev/null). */
const LOG_FILE = process.env['BENCH_LOG'] ?? join(tmpdir(), `tokensmith-bench-${process.pid}.log`);

if (process.argv[1]?.endsWith('servers.js')) {
  const [kind = 'bare', port = '0'] = process.argv.slice(2);
  const server = createServer((await app(kind)).callback());
  server.listen(Number(port), '127.0.0.1', () => {
    process.stdout.write(`READY ${(server.address() as { port: number }).port}\n`);
  });
  process.on('SIGTERM', () =>
    server.close(() => {
      if (LOG_FILE.startsWith(tmpdir())) rmSync(LOG_FILE, { force: true });
      process.exit(0);
    }),
  );
}
