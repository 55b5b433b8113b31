import { readFileSync } from 'node:fs';
import type { Context, Middleware, Next } from 'koa';
import type { Engine } from '../core/engine.js';
import { NotFoundError } from '../core/errors.js';
import type { Policy } from '../core/policy/types.js';

/** Where the demo page is served, and its script. */
export const MELISSA_DEMO_PATH = '/demo/melissa';
const SCRIPT_PATH = `${MELISSA_DEMO_PATH}/app.js`;

/**
 * Scripts, requests and everything else from this origin only; no inline script or style, no
 * plugins, no framing, no form posts elsewhere. The page's script only sets `textContent`, so it
 * also runs under Trusted Types.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join('; ');

const HEADERS = {
  'content-security-policy': CSP,
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** The routes the page's script calls, taken from the served policies. */
interface DemoRoutes {
  readonly tokenUrl: string;
  readonly serviceUrl: string;
}

/** The first Melissa policy with a same-origin helper (`format: gettoken`) and a protected route. */
function demoRoutes(policies: readonly Policy[]): DemoRoutes | undefined {
  for (const policy of policies) {
    if (policy.style !== 'melissa') continue;
    const helper = policy.routes.find((r) => r.format === 'gettoken' && r.methods.includes('POST'));
    const service = policy.protectedRoutes.find((r) => r.methods.includes('GET'));
    if (helper && service) return { tokenUrl: helper.path, serviceUrl: service.path };
  }
  return undefined;
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/**
 * The page and its script are plain files kept beside this module's source (`server/demo/`), read
 * once when the demo is enabled; tsc does not copy them, so they are found from the package root
 * (`dist/server/demo.js` → `server/demo/`).
 */
function readAsset(name: string): string {
  return readFileSync(new URL(`../../server/demo/${name}`, import.meta.url), 'utf8');
}

/**
 * Serves the Melissa browser flow at `GET /demo/melissa` (HTML) and `GET /demo/melissa/app.js`:
 * the page's script asks the same origin for a token (the policy's `gettoken` helper, which keeps
 * the licence server-side) and calls the protected service route with it. The page holds no
 * secret. Answers 404 `ERR_NOT_FOUND` while no served policy has such routes.
 *
 * @example
 * ```ts
 * const app = createApp({ engine, demo: true }); // mounts melissaDemo(engine)
 * ```
 */
export function melissaDemo(engine: Engine): Middleware {
  const page = readAsset('melissa.html');
  const script = readAsset('melissa.js');
  return async function demoPage(ctx: Context, next: Next): Promise<void> {
    if ((ctx.path !== MELISSA_DEMO_PATH && ctx.path !== SCRIPT_PATH) || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const routes = demoRoutes(engine.policies);
    if (routes === undefined) throw new NotFoundError('the Melissa demo needs a melissa policy with a gettoken route and a protected GET route');
    ctx.set(HEADERS);
    if (ctx.path === SCRIPT_PATH) {
      ctx.type = 'text/javascript; charset=utf-8';
      ctx.body = script;
      return;
    }
    const values: Record<string, string> = { script: SCRIPT_PATH, tokenUrl: routes.tokenUrl, serviceUrl: routes.serviceUrl };
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = page.replace(/\{\{(\w+)\}\}/g, (_, name: string) => escapeHtml(values[name] ?? ''));
  };
}
