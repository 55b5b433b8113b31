import { ManualClock } from '../../core/clock.js';
import { hasReadiness } from '../../core/ports.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp } from '../../server/app.js';
import { listen } from './http.js';
import { T0 } from './boot.js';

export const ADMIN_SECRET = 'admin-secret-for-tests-0123456789';

export interface Host extends Booted {
  clock: ManualClock;
  url: string;
  close(): Promise<void>;
}

/**
 * Boots the real policy files with a manual clock and serves them on a loopback port: on the
 * memory store unless `store` names another (a Redis URL: it is waited for, bounded, until it answers).
 */
export async function host(policies: string[], env: Record<string, string>, trustedProxies: string[] = [], store = 'memory'): Promise<Host> {
  const clock = new ManualClock(T0);
  const booted = await boot({ policies, store, env, clock });
  for (let i = 0; i < 100 && hasReadiness(booted.store) && !(await booted.store.ready()); i++) await new Promise((r) => setTimeout(r, 20));
  const http = await listen(createApp({ engine: booted.engine, trustedProxies, adminSecret: ADMIN_SECRET }));
  return {
    ...booted,
    clock,
    url: http.url,
    async close() {
      await http.close();
      await booted.store.close();
    },
  };
}

/** A POST with a form body, as browsers and vendor clients send it. */
export const formPost = (params: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(params).toString(),
});

/** An admin call to /introspect or /revoke. */
export const adminPost = (params: Record<string, string>) => formPost(params, { authorization: `Bearer ${ADMIN_SECRET}` });
