import type { Engine } from '../core/engine.js';
import { UsageError, type Values } from './cli-spec.js';
import { revokeInBulk, type BulkRevocationAsked } from './bulk-revoke.js';

/** Where the command writes, and the environment it reads (the admin secret). */
interface RevokeIO {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

/** What `tokensmith revoke` needs of the CLI to act on a store directly: an engine over it, and how to let it go. */
export type EngineOpener = () => Promise<{ engine: Engine; close(): Promise<void> }>;

/** How long a call to a running server may take before the command gives up. */
const CALL_TIMEOUT_MS = 10_000;

/** What the command line asks: a bulk revocation, or one token (RFC 7009). */
type Asked = { readonly bulk: BulkRevocationAsked } | { readonly token: string; readonly policy: string };

function askedOf(values: Values, positionals: readonly string[]): Asked {
  const policy = values['policy'] as string | undefined;
  const credentialId = values['credential-id'] as string | undefined;
  const subject = values['sub'] as string | undefined;
  if (policy === undefined) throw new UsageError('revoke needs --policy ID', 'revoke');
  if (positionals.length > 1) throw new UsageError('revoke takes at most one TOKEN', 'revoke');
  const token = positionals[0];
  const given = [credentialId, subject, token].filter((value) => value !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --credential-id ID, --sub SUBJECT or a TOKEN', 'revoke');
  if (given[0] === '') throw new UsageError('the credential id, subject or token is empty', 'revoke');
  if (token !== undefined) return { token, policy };
  return { bulk: { policy, owner: credentialId === undefined ? { subject: subject as string } : { credentialId } } };
}

/**
 * `tokensmith revoke`: revokes every token of a credential or subject (or one token) of a
 * policy, either by calling a running server's `POST /revoke` (`--url`, with
 * `TOKENSMITH_ADMIN_SECRET`) or directly in the store the servers share (`--store redis://…`
 * with their `--policies`). The memory store lives inside one server, so without `--url` it is
 * refused rather than revoking in a store no server reads.
 */
export async function revokeCommand(values: Values, positionals: readonly string[], io: RevokeIO, open: EngineOpener): Promise<number> {
  const asked = askedOf(values, positionals);
  const url = values['url'] as string | undefined;
  if (url !== undefined) return revokeByUrl(url, asked, io);
  const store = (values['store'] as string | undefined) ?? 'memory';
  if (store === 'memory' || store.startsWith('memory:')) {
    throw new UsageError('without --url, revoke needs the store the servers share (--store redis://…); a server’s memory store is reached through --url', 'revoke');
  }
  const { engine, close } = await open();
  try {
    if ('bulk' in asked) {
      io.out(JSON.stringify(await revokeInBulk(engine, asked.bulk), null, 2));
    } else {
      const revoked = await engine.revoke(asked.token, asked.policy);
      io.out(JSON.stringify({ policy: asked.policy, revoked: revoked ? 1 : 0 }, null, 2));
    }
    return 0;
  } finally {
    await close();
  }
}

async function revokeByUrl(url: string, asked: Asked, io: RevokeIO): Promise<number> {
  const secret = io.env['TOKENSMITH_ADMIN_SECRET'];
  if (secret === undefined || secret === '') throw new UsageError('revoke --url needs TOKENSMITH_ADMIN_SECRET (the server’s admin secret) in the environment', 'revoke');
  let target: URL;
  try {
    target = new URL('revoke', url.endsWith('/') ? url : `${url}/`);
  } catch {
    throw new UsageError(`--url ${url} is not a URL (e.g. http://127.0.0.1:8080)`, 'revoke');
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new UsageError(`--url must be http: or https:, got ${target.protocol}`, 'revoke');
  const body = 'bulk' in asked
    ? { policy: asked.bulk.policy, ...('credentialId' in asked.bulk.owner ? { credential_id: asked.bulk.owner.credentialId } : { sub: asked.bulk.owner.subject }) }
    : { policy: asked.policy, token: asked.token };
  let res: Response;
  try {
    res = await fetch(target, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch (err) {
    io.err(`tokensmith: cannot reach ${target.origin} (${(err as Error).message}); check --url and that the server runs`);
    return 1;
  }
  const text = await res.text();
  if (res.status !== 200) {
    const refusal = parsed(text) as { error?: unknown; error_description?: unknown } | undefined;
    io.err(typeof refusal?.error === 'string' ? `${refusal.error}: ${String(refusal.error_description ?? '')}` : `tokensmith: the server answered ${res.status}`);
    return 1;
  }
  // RFC 7009 answers an empty 200, whether the token was valid or not.
  io.out(text === '' ? JSON.stringify({ policy: body.policy, status: 'revoked if it was valid' }, null, 2) : JSON.stringify(parsed(text) ?? text, null, 2));
  return 0;
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
