import { LockoutAdmin, type LockTarget } from '../plugins/guards/lockout/index.js';
import type { Booted } from './bootstrap.js';
import { UsageError, type Values } from './cli-spec.js';

/** Where `lockouts` writes, and what it reads: the CLI's own io. */
interface Io {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

/** How long a call to a running server may take. */
const TIMEOUT_MS = 10_000;

/**
 * `tokensmith lockouts list|unlock`: against a running server's admin API (`--url`, with
 * `TOKENSMITH_ADMIN_SECRET`), or directly against a shared store (`--store redis://…` with the
 * same `--policies` the servers load: a lock's fingerprint depends on the policy's secrets).
 * Prints the admin API's JSON; resolves to the exit code.
 *
 * @example await lockouts(['list'], { policy: 'electa', url: 'http://127.0.0.1:8080' }, io, bootStore)
 */
export async function lockouts(positionals: readonly string[], values: Values, io: Io, bootStore: () => Promise<Booted>): Promise<number> {
  const [action, ...rest] = positionals;
  if ((action !== 'list' && action !== 'unlock') || rest.length) throw new UsageError('lockouts takes list or unlock', 'lockouts');
  const policy = values['policy'] as string | undefined;
  if (policy === undefined) throw new UsageError('lockouts needs --policy ID', 'lockouts');
  const limit = limitOf(values['limit'] as string | undefined);
  const target = action === 'unlock' ? targetOf(values) : undefined;
  if (action === 'list' && target === undefined && ['credential-id', 'address', 'fingerprint'].some((name) => values[name] !== undefined)) {
    throw new UsageError('--credential-id, --address and --fingerprint are for unlock', 'lockouts');
  }
  const url = values['url'] as string | undefined;
  if (url !== undefined) return overHttp(url, policy, limit, target, io);
  const store = (values['store'] as string | undefined) ?? 'memory';
  if (store === 'memory' || store.startsWith('memory:')) {
    throw new UsageError('the memory store lives inside one server process: use --url to ask it, or --store redis://… for a shared store', 'lockouts');
  }
  const booted = await bootStore();
  try {
    const admin = new LockoutAdmin(booted.store, booted.engine.clock);
    const found = booted.engine.policy(policy);
    const answer = target === undefined ? { policy: found.id, locks: await admin.list(found, limit) } : { policy: found.id, unlocked: await admin.unlock(found, target) };
    io.out(JSON.stringify(answer, null, 2));
    return 0;
  } finally {
    await booted.store.close();
  }
}

function limitOf(given: string | undefined): number | undefined {
  if (given === undefined) return undefined;
  if (!/^[0-9]{1,5}$/.test(given) || Number(given) < 1 || Number(given) > 10_000) throw new UsageError(`--limit takes a whole number from 1 to 10000, got "${given}"`, 'lockouts');
  return Number(given);
}

function targetOf(values: Values): LockTarget {
  const given = (['credential-id', 'address', 'fingerprint'] as const).filter((name) => values[name] !== undefined);
  if (given.length !== 1) throw new UsageError('unlock takes exactly one of --credential-id ID, --address ADDR, --fingerprint FP', 'lockouts');
  const value = values[given[0] as string] as string;
  return given[0] === 'credential-id' ? { credentialId: value } : given[0] === 'address' ? { address: value } : { fingerprint: value };
}

/** The same call through a running server's admin API; its JSON error is printed as `code: description`. */
async function overHttp(base: string, policy: string, limit: number | undefined, target: LockTarget | undefined, io: Io): Promise<number> {
  const secret = io.env['TOKENSMITH_ADMIN_SECRET'];
  if (secret === undefined || secret === '') {
    io.err('tokensmith: TOKENSMITH_ADMIN_SECRET is not set; the admin API of the server at --url needs it');
    return 1;
  }
  let root: URL;
  try {
    root = new URL(base);
    if (root.protocol !== 'http:' && root.protocol !== 'https:') throw new TypeError('not http');
  } catch {
    throw new UsageError(`--url takes an http:// or https:// URL, got "${base}"`, 'lockouts');
  }
  const headers = { authorization: `Bearer ${secret}`, accept: 'application/json' };
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  let res: Response;
  try {
    if (target === undefined) {
      const query = new URLSearchParams({ policy, ...(limit === undefined ? {} : { limit: String(limit) }) });
      res = await fetch(new URL(`admin/lockouts?${query}`, withSlash(root)), { headers, signal });
    } else {
      const body = { policy, ...('credentialId' in target ? { credential_id: target.credentialId } : 'address' in target ? { address: target.address } : { fingerprint: target.fingerprint }) };
      res = await fetch(new URL('admin/lockouts/unlock', withSlash(root)), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
    }
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer in ${TIMEOUT_MS / 1000} s` : ((err as { cause?: { code?: string } }).cause?.code ?? 'unreachable');
    io.err(`tokensmith: cannot reach the server at ${root.origin} (${why}); check --url and that it is running`);
    return 1;
  }
  const text = await res.text();
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    io.err(`tokensmith: the server at ${root.origin} answered ${res.status} without JSON; is --url a tokensmith server?`);
    return 1;
  }
  if (!res.ok) {
    const { error, error_description: description } = answer as { error?: unknown; error_description?: unknown };
    io.err(`${String(error ?? `HTTP ${res.status}`)}: ${String(description ?? '')}`);
    return 1;
  }
  io.out(JSON.stringify(answer, null, 2));
  return 0;
}

/** A base URL that keeps its path when resolved against (`http://h/ts` → `http://h/ts/`). */
const withSlash = (url: URL): URL => new URL(url.pathname.endsWith('/') ? url.href : `${url.href}/`);
