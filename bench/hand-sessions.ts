import { randomBytes, randomUUID } from 'node:crypto';
import Koa from 'koa';
import { BENCH_ENV } from './env.js';

/**
 * What a user would hand-write instead of the Melissa and Electa policies, with no engine:
 * the credential looked up in a `Map`, a random token kept in a `Map` with its expiry, the XML
 * written with a template. Same routes and reply shapes as ours.
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
        ctx.body = ok ? { ok: true } : { Version: 'hand', ResultCode: 'GE05', Results: [] };
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
        ctx.body = ok ? { ok: true } : '<Response><ResponseCode>4</ResponseCode><ResponseData>Invalid or expired session token</ResponseData></Response>';
        return;
      }
      default:
        ctx.status = 404;
    }
  });
  return koa;
}
