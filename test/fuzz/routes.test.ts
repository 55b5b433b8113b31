import { expect } from 'chai';
import fc from 'fast-check';
import { ManualClock } from '../../core/clock.js';
import type { Policy } from '../../core/policy/types.js';
import { tokenRequestFrom } from '../../core/request.js';
import { createApp } from '../../server/app.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { SERVED_METHODS } from '../../server/methods.js';
import { T0 } from '../helpers/boot.js';
import { listen } from '../helpers/http.js';
import { closeClient, send, type FuzzRequest } from './client.js';
import { problemWith } from './oracle.js';
import { fresh, requestTo, type Family } from './requests.js';
import { SeededRandom } from './seeded-random.js';
import { assertSeeded, fuzzSeed } from './seed.js';

const ADMIN_SECRET = 'fuzz-admin-secret-0123456789abcdef';
/** Requests sent side by side per property run: a batch keeps both cores busy and shrinks as one case. */
const BATCH = 4;
/** Property runs per family (BATCH requests each); FUZZ_RUNS overrides, e.g. for a long local run. */
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 500);
/**
 * The clock moves this much before each batch: past every lockout (15 minutes in the example
 * policies), so that a lock a batch provoked does not answer every request after it.
 */
const STEP_MS = 16 * 60_000;
/** Names every vendor style reads, beside those a policy names itself. */
const VENDOR_PARAMS = [
  'L', 'P', 'TS', 'IP', 'id', 'CID', 'AppKey', 'Result', 'Token', 'XSC', 'XST', 'XUT', 'format', 'function', 'client_id', 'client_secret',
  'expires_in', 'token', 'policy', 'UserName', 'Email', 'ExtFlags',
];

/** The parameters that make a policy issue: its first credential under every vendor's names. */
function issueParams(policy: Policy): Record<string, string> {
  const credential = policy.credentials?.[0];
  if (credential === undefined) return {};
  const params: Record<string, string> = { L: credential.secret, AppKey: credential.secret, client_secret: credential.secret };
  if (credential.id !== undefined) Object.assign(params, { CID: credential.id, client_id: credential.id });
  return params;
}

/** A token of the policy (`fresh('token')`), with XDOC's `XUT` and `Context`, minted now; none if it cannot issue so. */
async function mintFor(booted: Booted, policy: Policy): Promise<Record<string, string>> {
  try {
    const issued = await booted.engine.issue(policy.id, tokenRequestFrom(issueParams(policy), '127.0.0.1'));
    const claims = issued.record.claims ?? {};
    const text = (name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : '');
    return { [fresh('token')]: issued.token, [fresh('XUT')]: text('XUT'), [fresh('Context')]: text('Context') };
  } catch {
    return {};
  }
}

const query = (params: Record<string, string>) => new URLSearchParams(params).toString();

/** The route families: one per example policy (its issuing and protected routes), the host's own routes, and paths no route serves. */
function familiesOf(booted: Booted): Family[] {
  const families: Family[] = [];
  const token = fresh('token');
  for (const policy of booted.engine.policies) {
    const routes = [...policy.routes, ...policy.protectedRoutes].map((r) => ({ path: r.path, methods: r.methods }));
    if (routes.length === 0) continue;
    const values = new Set<string>([...policy.output.allowed, token, fresh('XUT'), fresh('Context')]);
    for (const credential of policy.credentials ?? []) {
      values.add(credential.secret);
      if (credential.id !== undefined) values.add(credential.id);
    }
    const required: Record<string, string> = {};
    for (const route of policy.routes) Object.assign(required, route.require ?? {});
    for (const value of Object.values(required)) values.add(value);
    const names = [...VENDOR_PARAMS, ...policy.routes.flatMap((r) => [...Object.keys(r.require ?? {}), ...Object.keys(r.preset ?? {})])];
    if (policy.output.param !== undefined) names.push(policy.output.param);
    names.push(policy.ipBinding.param);
    // Each style reads the names it knows and ignores the others: one recipe to issue, one to present.
    const id = policy.credentials?.[0]?.id;
    const presenting = { ...(id === undefined ? {} : { CID: id }), Token: token, id: token, token, XST: token, XUT: fresh('XUT'), XSC: fresh('Context') };
    families.push({
      name: `policy ${policy.id}`,
      routes,
      params: [...new Set(names)],
      values: [...values],
      authorizations: [`Bearer ${token}`],
      recipes: [query({ ...issueParams(policy), ...required }), query(presenting)],
      mint: () => mintFor(booted, policy),
    });
  }
  const get = ['GET'];
  const policies = booted.engine.policies;
  families.push({
    name: 'health, metrics, admin and demo routes',
    routes: [
      { path: '/healthz', methods: get }, { path: '/readyz', methods: get }, { path: '/metrics', methods: get },
      { path: '/introspect', methods: ['POST'] }, { path: '/revoke', methods: ['POST'] },
      { path: '/demo/melissa', methods: get }, { path: '/demo/melissa/app.js', methods: get },
    ],
    params: ['token', 'policy', 'token_type_hint'],
    values: [...policies.map((p) => fresh(p.id)), ...policies.map((p) => p.id)],
    authorizations: [`Bearer ${ADMIN_SECRET}`, `Bearer ${ADMIN_SECRET}x`, 'Bearer '],
    recipes: policies.flatMap((p) => [query({ token: fresh(p.id) }), query({ token: fresh(p.id), policy: p.id })]),
    mint: async () => {
      const minted = await Promise.all(policies.map(async (p) => [fresh(p.id), (await mintFor(booted, p))[token] ?? ''] as const));
      return Object.fromEntries(minted);
    },
  });
  families.push({
    name: 'paths no route serves',
    routes: [{ path: '/', methods: SERVED_METHODS }, { path: '/no/such/route', methods: SERVED_METHODS }, { path: '/favicon.ico', methods: get }],
    params: VENDOR_PARAMS,
    values: ['x'],
    authorizations: [],
    recipes: [],
  });
  return families;
}

/** The request with every placeholder replaced by the value minted for it (percent-encoded in the path and form bodies). */
function withTokens(req: FuzzRequest, minted: Readonly<Record<string, string>>): FuzzRequest {
  const entries = Object.entries(minted);
  if (entries.length === 0) return req;
  const fill = (text: string, encode: boolean) => entries.reduce((out, [key, value]) => out.replaceAll(key, encode ? encodeURIComponent(value) : value), text);
  const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, fill(value, false)]));
  const form = !String(req.headers['content-type'] ?? '').includes('json');
  return {
    method: req.method,
    path: fill(req.path, true),
    headers,
    ...(req.body === undefined ? {} : { body: Buffer.from(fill(req.body.toString('latin1'), form), 'latin1') }),
  };
}

/**
 * The fuzz suite: hostile requests (odd methods, paths, escapes, control characters, huge and
 * repeated parameters, wrong content types and bodies) to every route of every example policy,
 * read from the loaded policies, and to the host's own routes, over a real loopback socket.
 * Every reply must be well-formed in its format, never a 5xx (but a store outage's 503), never
 * a stack; and the server's log must get no error line. Time is a manual clock and randomness
 * is seeded from the fuzz seed, so a failure's printed `FUZZ_SEED` (and `FUZZ_PATH`) replays it.
 */
describe('fuzz: hostile requests to every route of the example policies (fast-check, over HTTP)', function () {
  this.timeout(180_000);
  const clock = new ManualClock(T0);
  let booted: Booted;
  let http: Awaited<ReturnType<typeof listen>>;
  let base: URL;
  const errorLines: string[] = [];
  const logger = {
    info() {},
    warn() {},
    error: (line: object, msg?: string) => void errorLines.push(`${msg ?? ''} ${JSON.stringify(line).slice(0, 400)}`),
  };
  let families: Family[] = [];

  before(async () => {
    booted = await boot({ policies: ['policies'], store: 'memory', env: {}, clock, random: new SeededRandom(fuzzSeed()) });
    http = await listen(createApp({ engine: booted.engine, adminSecret: ADMIN_SECRET, trustedProxies: ['127.0.0.1'], logger, demo: true }));
    base = new URL(http.url);
    families = familiesOf(booted);
  });
  after(async () => {
    closeClient();
    await http.close();
    await booted.store.close();
  });

  it('reads a family for each example policy from the loaded policies, with every route, and mints live tokens for it', async () => {
    const fromPolicies = families.filter((f) => f.name.startsWith('policy '));
    expect(fromPolicies.map((f) => f.name)).to.deep.equal(booted.engine.policies.map((p) => `policy ${p.id}`));
    const paths = fromPolicies.flatMap((f) => f.routes.map((r) => r.path));
    expect(paths).to.include.members(['/apps/token.asp', '/apps/session.asp', '/emalidate/token', '/v3/web/Service.svc/RequestToken', '/melissa/gettoken', '/xdoc/demo']);
    for (const family of fromPolicies) expect((await family.mint?.())?.[fresh('token')], family.name).to.be.a('string').with.length.above(20);
  });

  /** Sends a batch side by side, with live tokens; the first problem (or error line in the log) fails the run, naming the request. */
  async function check(family: Family, batch: readonly FuzzRequest[]): Promise<void> {
    clock.advance(STEP_MS);
    const minted = (await family.mint?.()) ?? {};
    const requests = batch.map((req) => withTokens(req, minted));
    const replies = await Promise.allSettled(requests.map((req) => send(base, req)));
    for (const [i, settled] of replies.entries()) {
      const req = requests[i] as FuzzRequest;
      const what = `${req.method} ${req.path.slice(0, 200)}`;
      if (settled.status === 'rejected') throw new Error(`${what}: no reply (${(settled.reason as Error).message})`);
      const problem = await problemWith(req, settled.value);
      if (problem !== undefined) throw new Error(`${what}: ${problem}; reply ${settled.value.status} ${settled.value.body.slice(0, 300)}`);
    }
    if (errorLines.length) throw new Error(`error lines in the log: ${errorLines.splice(0).join('\n')}`);
  }

  for (const index of [0, 1, 2, 3, 4, 5]) {
    it(`family ${index + 1}: never a 5xx, a stack or a malformed reply, no error line in the log`, async function () {
      const family = families[index];
      if (family === undefined) return this.skip();
      this.test!.title = `family ${index + 1}: ${family.name}, ${RUNS * BATCH} requests, never a 5xx, a stack or a malformed reply, no error line in the log`;
      const batches = fc.array(requestTo(family), { minLength: BATCH, maxLength: BATCH });
      await assertSeeded(fc.asyncProperty(batches, (batch) => check(family, batch)), { numRuns: RUNS }, {
        file: 'dist/test/fuzz/routes.test.js',
        grep: `family ${index + 1}:`,
      });
    });
  }
});
