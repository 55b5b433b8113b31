import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import Koa, { type Context, type Next } from 'koa';
import { Counter, Histogram, Registry } from 'prom-client';
import { sha256 as hashKey, sha256Bytes as sha256 } from '../core/digest.js';
import type { Logger } from '../core/ports.js';
import { BENCH_ENV } from './env.js';

const NO_SCOPES: readonly string[] = [];

/** The body of a verify route: what the session says, as our policies' demo routes answer. */
const shown = (policy: string, scope: readonly string[], expiresAt: number) => ({ ok: true, policy, scope, exp: Math.floor(expiresAt / 1000) });

/**
 * What a user would hand-write instead of the Melissa and Electa policies, with no engine:
 * the credential looked up in a `Map`, a random token kept in a `Map` with its expiry, the XML
 * written with a template. Same routes and reply shapes as ours; the verify routes answer what
 * the session says, as our demo routes do.
 */
export function handSessions(): Koa {
  const licences = new Map([[BENCH_ENV['MELISSA_LICENSE'] as string, ['pkgExpressEntry', 'GlobalExpressEntry']]]);
  const accounts = new Map([[BENCH_ENV['ELECTA_CID'] as string, BENCH_ENV['ELECTA_APPKEY'] as string]]);
  const melissa = new Map<string, { packages: string[]; expiresAt: number }>();
  const electa = new Map<string, { cid: string; expiresAt: number }>();
  const koa = new Koa();
  koa.use((ctx) => {
    const q = ctx.query as Record<string, string | undefined>;
    switch (ctx.path) {
      case '/v3/web/Service.svc/RequestToken': {
        const packages = licences.get(q['L'] ?? '');
        ctx.type = 'application/xml';
        if (packages === undefined) {
          ctx.body = '<RequestTokenResponse><Result>TE01</Result><Token></Token></RequestTokenResponse>';
          return;
        }
        const token = `T:${randomBytes(24).toString('base64url')}`;
        melissa.set(token, { packages: (q['P'] ?? '').split(','), expiresAt: Date.now() + 300_000 });
        ctx.body = `<RequestTokenResponse><Result></Result><Token>${token}</Token></RequestTokenResponse>`;
        return;
      }
      case '/melissa/demo/ExpressFreeForm': {
        const session = melissa.get(q['id'] ?? '');
        const ok = session !== undefined && session.expiresAt > Date.now() && session.packages.includes('pkgExpressEntry');
        ctx.body = ok ? shown('melissa', session.packages, session.expiresAt) : { Version: 'hand', ResultCode: 'GE05', Results: [] };
        return;
      }
      case '/apps/token.asp': {
        const cid = q['CID'] ?? '';
        ctx.type = 'text/xml';
        if (accounts.get(cid) !== q['AppKey']) {
          ctx.body = '<Response><ResponseCode>1</ResponseCode><ResponseData>Invalid Account or Application Key</ResponseData></Response>';
          return;
        }
        const guid = randomUUID().toUpperCase();
        electa.set(guid, { cid, expiresAt: Date.now() + 1_200_000 });
        ctx.body = `<Response><ResponseCode>0</ResponseCode><ResponseData>${guid}</ResponseData></Response>`;
        return;
      }
      case '/apps/session.asp': {
        const session = electa.get(q['Token'] ?? '');
        const ok = session !== undefined && session.expiresAt > Date.now() && session.cid === q['CID'];
        ctx.body = ok ? shown('electa', NO_SCOPES, session.expiresAt) : '<Response><ResponseCode>4</ResponseCode><ResponseData>Invalid or expired session token</ResponseData></Response>';
        return;
      }
      default:
        ctx.status = 404;
    }
  });
  return koa;
}

interface Failures {
  count: number;
  until: number;
}

/**
 * Sessions of one lifetime, held at most `max` at once, as issue 14 requires of every session
 * store: every write first drops the expired ones. With one lifetime per map, insertion order is
 * expiry order, so the oldest are at the head of the `Map` and the sweep stops at the first live one.
 */
class Sessions<T extends { expiresAt: number }> {
  readonly #held = new Map<string, T>();

  constructor(readonly max: number) {}

  get(key: string): T | undefined {
    return this.#held.get(key);
  }

  /** `false` when the map holds `max` live sessions: the caller refuses, as ours answers a full store. */
  add(key: string, session: T, now: number): boolean {
    for (const [held, { expiresAt }] of this.#held) {
      if (expiresAt > now) break;
      this.#held.delete(held);
    }
    if (this.#held.size >= this.max) return false;
    this.#held.set(key, session);
    return true;
  }
}

/** The bounds of the guarded routes' maps (the bench issues fewer than these, as ours is set to), and their clock. */
export interface GuardedOptions {
  readonly maxSessions?: number;
  readonly maxCounters?: number;
  readonly now?: () => number;
}

/**
 * The same routes hand-written with the safeguards the issues require of ours, still with no
 * engine: the secret compared by digest in constant time, failures counted and a locked
 * credential (and, for Melissa, address) refused before the comparison, sessions kept under a
 * hash of the token (the store never holds a usable token) in maps that are bounded and drop
 * expired sessions (issue 14), an attempt refused when its failure could not be counted,
 * `Cache-Control: no-store`, one pino line and a latency histogram and counter per request. It
 * answers "what does the engine cost over doing the same job by hand", where `handSessions`
 * answers "over doing less".
 */
export function guardedHandSessions(logger: Logger, { maxSessions = 100_000_000, maxCounters = 20_000_000, now: clock = Date.now }: GuardedOptions = {}): Koa {
  const melissaLicence = sha256(BENCH_ENV['MELISSA_LICENSE'] as string);
  const melissaPackages = ['pkgExpressEntry', 'GlobalExpressEntry'];
  const accounts = new Map([[BENCH_ENV['ELECTA_CID'] as string, sha256(BENCH_ENV['ELECTA_APPKEY'] as string)]]);
  const melissa = new Sessions<{ packages: string[]; ip: string | undefined; expiresAt: number }>(maxSessions);
  const electa = new Sessions<{ cid: string; expiresAt: number }>(maxSessions);
  const failures = new Map<string, Failures>();
  /** As ours: an attempt whose failure could not be counted is refused before the comparison. */
  const roomToCount = (keys: readonly string[]): boolean => failures.size + keys.filter((key) => !failures.has(key)).length <= maxCounters;
  const locked = (key: string, now: number): boolean => {
    const f = failures.get(key);
    return f !== undefined && f.until > now && f.count >= (key.startsWith('e:') ? 5 : 10);
  };
  const fail = (key: string, now: number): void => {
    const f = failures.get(key);
    if (f === undefined || f.until <= now) failures.set(key, { count: 1, until: now + 900_000 });
    else f.count++;
  };

  const registry = new Registry();
  const latency = new Histogram({ name: 'hand_seconds', help: 'latency', labelNames: ['kind', 'policy'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01], registers: [registry] });
  const outcomes = new Counter({ name: 'hand_total', help: 'requests', labelNames: ['kind', 'policy', 'outcome'], registers: [registry] });
  const routes: Record<string, { kind: string; policy: string }> = {
    '/v3/web/Service.svc/RequestToken': { kind: 'issue', policy: 'melissa' },
    '/melissa/demo/ExpressFreeForm': { kind: 'verify', policy: 'melissa' },
    '/apps/token.asp': { kind: 'issue', policy: 'electa' },
    '/apps/session.asp': { kind: 'verify', policy: 'electa' },
  };

  const koa = new Koa();
  koa.use(async function logAndCount(ctx: Context, next: Next) {
    const start = performance.now();
    await next();
    const route = routes[ctx.path];
    if (route === undefined) return;
    const ms = performance.now() - start;
    const outcome = (ctx.state as { outcome?: string }).outcome ?? 'ok';
    latency.labels(route.kind, route.policy).observe(ms / 1000);
    outcomes.labels(route.kind, route.policy, outcome).inc();
    const line = { kind: route.kind, policy: route.policy, path: ctx.path, method: ctx.method, status: ctx.status, outcome, ms: Math.round(ms * 1000) / 1000, client: ctx.req.socket.remoteAddress };
    logger.info(line, 'token request');
  });
  koa.use((ctx) => {
    // Vendor clients send CID= and cid=, AppKey= and appkey=: names are matched case-insensitively.
    const q: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(ctx.query)) if (typeof value === 'string') q[name.toLowerCase()] = value;
    const now = clock();
    const refuse = (outcome: string, type: string, body: string | object) => {
      (ctx.state as { outcome?: string }).outcome = outcome;
      ctx.type = type;
      ctx.body = body;
    };
    ctx.set('cache-control', 'no-store');
    switch (ctx.path) {
      case '/v3/web/Service.svc/RequestToken': {
        const digest = sha256(q['l'] ?? '');
        const address = ctx.req.socket.remoteAddress ?? '';
        const keys = [`m:${digest.toString('base64url', 0, 16)}`, `m:a:${address}`];
        if (keys.some((key) => locked(key, now))) return refuse('locked', 'application/xml', '<RequestTokenResponse><Result>TE09</Result><Token></Token></RequestTokenResponse>');
        if (!roomToCount(keys)) return refuse('full', 'application/xml', '<RequestTokenResponse><Result>TE06</Result><Token></Token></RequestTokenResponse>');
        if (!timingSafeEqual(digest, melissaLicence)) {
          for (const key of keys) fail(key, now);
          return refuse('invalid', 'application/xml', '<RequestTokenResponse><Result>TE01</Result><Token></Token></RequestTokenResponse>');
        }
        const packages = (q['p'] ?? '').split(',').filter((p) => melissaPackages.includes(p));
        const token = `T:${randomBytes(24).toString('base64url')}`;
        if (!melissa.add(hashKey(token), { packages, ip: q['ip'], expiresAt: now + 300_000 }, now)) {
          return refuse('full', 'application/xml', '<RequestTokenResponse><Result>TE06</Result><Token></Token></RequestTokenResponse>');
        }
        ctx.type = 'application/xml';
        ctx.body = `<RequestTokenResponse><Result></Result><Token>${token}</Token></RequestTokenResponse>`;
        return;
      }
      case '/melissa/demo/ExpressFreeForm': {
        const session = melissa.get(hashKey(q['id'] ?? ''));
        const address = ctx.req.socket.remoteAddress;
        const ok = session !== undefined && session.expiresAt > now && (session.ip === undefined || session.ip === address) && session.packages.includes('pkgExpressEntry');
        if (!ok) return refuse('GE05', 'application/json', { Version: 'hand', ResultCode: 'GE05', Results: [] });
        ctx.body = shown('melissa', session.packages, session.expiresAt);
        return;
      }
      case '/apps/token.asp': {
        const cid = q['cid'] ?? '';
        const key = `e:${cid}`;
        if (locked(key, now)) return refuse('locked', 'text/xml', '<Response><ResponseCode>2</ResponseCode><ResponseData>Locked</ResponseData></Response>');
        if (!roomToCount([key])) return refuse('full', 'text/xml', '<Response><ResponseCode>8</ResponseCode><ResponseData>Try again later</ResponseData></Response>');
        const expected = accounts.get(cid);
        const digest = sha256(q['appkey'] ?? '');
        if (expected === undefined || !timingSafeEqual(digest, expected)) {
          fail(key, now);
          return refuse('invalid', 'text/xml', '<Response><ResponseCode>1</ResponseCode><ResponseData>Invalid Account or Application Key</ResponseData></Response>');
        }
        const guid = randomUUID().toUpperCase();
        if (!electa.add(hashKey(guid), { cid, expiresAt: now + 1_200_000 }, now)) {
          return refuse('full', 'text/xml', '<Response><ResponseCode>8</ResponseCode><ResponseData>Try again later</ResponseData></Response>');
        }
        const csv = q['result']?.toLowerCase() === 'csv';
        ctx.type = csv ? 'text/csv' : 'text/xml';
        ctx.body = csv ? `0,${guid}` : `<Response><ResponseCode>0</ResponseCode><ResponseData>${guid}</ResponseData></Response>`;
        return;
      }
      case '/apps/session.asp': {
        const session = electa.get(hashKey(q['token'] ?? ''));
        const ok = session !== undefined && session.expiresAt > now && session.cid === q['cid'];
        if (!ok) return refuse('expired', 'text/xml', '<Response><ResponseCode>4</ResponseCode><ResponseData>Invalid or expired session token</ResponseData></Response>');
        ctx.body = shown('electa', NO_SCOPES, session.expiresAt);
        return;
      }
      default:
        ctx.status = 404;
    }
  });
  return koa;
}
