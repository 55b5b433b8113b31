/**
 * A Koa app of one's own that protects its routes with tokensmith: tokens are issued under the
 * emalidate policy (`POST /login` here, as a customer's backend would), and `GET /orders`
 * accepts only a valid one. tokensmith's error middleware is not mounted: `requireToken`
 * answers a refusal itself, as JSON with the status and a `WWW-Authenticate` challenge.
 *
 * Compiled with the project (`npm run build`) to dist/examples/koa-host/; run it with
 * `node dist/examples/koa-host/main.js` from the repository, or copy it into your project.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { tokenRequestFrom, isTokenSmithError } from 'tokensmith';
import { boot, requireToken } from 'tokensmith/server';

export interface Host {
  readonly app: Koa;
  close(): Promise<void>;
}

export async function createHost(options: { policies: string[]; env?: Record<string, string | undefined> }): Promise<Host> {
  const { engine, store } = await boot({ policies: options.policies, env: options.env ?? process.env });
  const router = new Router();

  // The host decides who may log in; tokensmith mints the token under the policy's rules.
  router.post('/login', async (ctx) => {
    try {
      const issued = await engine.issue('emalidate', tokenRequestFrom({}, ctx.ip));
      ctx.body = { token: issued.token, expires_in: Math.round((issued.record.expiresAt - issued.record.issuedAt) / 1000) };
    } catch (err) {
      if (!isTokenSmithError(err)) throw err;
      ctx.status = err.status;
      ctx.body = { error: err.code };
    }
  });

  // After requireToken, ctx.state.token is the verified token's record (typed, not optional).
  router.get('/orders', requireToken(engine, 'emalidate'), (ctx) => {
    ctx.body = { orders: [{ id: 1, item: 'tea' }], for: ctx.state.token.subject, expires: ctx.state.token.expiresAt };
  });

  const app = new Koa();
  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, close: () => store.close() };
}
