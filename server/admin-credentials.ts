import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resolveReferences } from '../core/policy/secrets.js';
import { bearerMatcher } from './bearer.js';

/** What an admin call may do; each admin route asks for one. */
export type AdminAction = 'introspect' | 'revoke' | 'lockouts' | 'metrics';

/** Every action, in the order the docs list them. */
export const ADMIN_ACTIONS: readonly AdminAction[] = ['introspect', 'revoke', 'lockouts', 'metrics'];

/** One admin secret and what it may do. Its `name` is what the audit trail and the logs show; the secret never is. */
export interface AdminCredential {
  readonly name: string;
  readonly secret: string;
  /** The actions it may do; `all` also allows actions added later. */
  readonly actions: readonly AdminAction[] | 'all';
}

/** A set of admin credentials that cannot be used as given (a duplicate name or secret, a bad action). */
export class AdminCredentialsError extends Error {
  override readonly name = 'AdminCredentialsError';
}

/** The names the single secrets of the environment take, so that a credentials file cannot claim them. */
export const ADMIN_SECRET_NAME = 'admin-secret';
export const METRICS_SECRET_NAME = 'metrics-secret';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A credentials file holds a few secrets; a bigger file is a mistake. */
const MAX_FILE_BYTES = 256 * 1024;
/** The shortest secret a credentials file may give: a guessable admin secret revokes every token. */
export const MIN_ADMIN_SECRET = 16;

/**
 * The admin credentials a host accepts. A presented `Authorization: Bearer <secret>` is hashed
 * and compared with every credential's hash, all of them every time (`bearerMatcher`), so that
 * which one matched does not show in the time a call takes.
 *
 * @example
 * ```ts
 * const admins = new AdminCredentials([{ name: 'ops', secret: process.env.OPS_SECRET!, actions: ['introspect', 'revoke'] }]);
 * admins.match(ctx.get('authorization'))?.name // 'ops'
 * ```
 */
export class AdminCredentials {
  readonly #held: readonly AdminCredential[];
  readonly #match: (authorization: string) => number;

  /** Throws `AdminCredentialsError` on a duplicate name or secret, an empty secret or an unknown action. */
  constructor(credentials: readonly AdminCredential[]) {
    const names = new Set<string>();
    const secrets = new Set<string>();
    this.#held = credentials.map((credential) => {
      const { name, secret, actions } = credential;
      if (!NAME.test(name)) throw new AdminCredentialsError(`admin credential name "${name}" must be 1–64 letters, digits, ".", "_" or "-"`);
      if (names.has(name)) throw new AdminCredentialsError(`admin credential name "${name}" is given twice`);
      names.add(name);
      if (secret === '') throw new AdminCredentialsError(`admin credential "${name}" has an empty secret`);
      if (actions !== 'all') {
        for (const action of actions) {
          if (!ADMIN_ACTIONS.includes(action)) throw new AdminCredentialsError(`admin credential "${name}": unknown action "${String(action)}"; the actions are ${ADMIN_ACTIONS.join(', ')} (or all)`);
        }
      }
      // Two credentials with one secret would make the caller's name a guess.
      if (secrets.has(secret)) throw new AdminCredentialsError(`admin credential "${name}" has the same secret as another one`);
      secrets.add(secret);
      return Object.freeze({ name, secret, actions: actions === 'all' ? 'all' : Object.freeze([...actions]) });
    });
    this.#match = bearerMatcher(this.#held.map((c) => c.secret));
  }

  /** How many credentials there are (none: every admin call is refused). */
  get size(): number {
    return this.#held.length;
  }

  /** The names, for start-up lines; never the secrets. */
  get names(): string[] {
    return this.#held.map((c) => c.name);
  }

  /** Every secret, so that log scrubbing can remove them. */
  get secrets(): string[] {
    return this.#held.map((c) => c.secret);
  }

  /** The credential whose secret the `Authorization` header carries as a Bearer token (compared in constant time), or `undefined`. */
  match(authorization: string): AdminCredential | undefined {
    return this.#held[this.#match(authorization)];
  }
}

/** Whether `credential` may do `action`. */
export function mayDo(credential: AdminCredential, action: AdminAction): boolean {
  return credential.actions === 'all' || credential.actions.includes(action);
}

/**
 * Reads an admin credentials file (`--admin-credentials PATH`): YAML or JSON, a list of
 * `{ name, secret, actions }`, each secret literal or a `${env:NAME}` / `${file:path}` reference
 * (relative to the file). Throws `AdminCredentialsError` with a message that names the entry,
 * never a secret.
 *
 * @example
 * ```yaml
 * - name: ops
 *   secret: ${env:OPS_ADMIN_SECRET}
 *   actions: [introspect, revoke, lockouts]
 * - name: prometheus
 *   secret: ${file:/run/secrets/scrape}
 *   actions: [metrics]
 * ```
 */
export function loadAdminCredentials(path: string, env: Readonly<Record<string, string | undefined>>): AdminCredential[] {
  const file = resolve(path);
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_FILE_BYTES) throw new AdminCredentialsError(`${path} is larger than ${MAX_FILE_BYTES / 1024} KiB`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof AdminCredentialsError) throw err;
    throw new AdminCredentialsError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let document: unknown;
  try {
    document = parseYaml(text, { maxAliasCount: 0 });
  } catch (err) {
    // The parser's message quotes the line; a secret may be on it.
    throw new AdminCredentialsError(`${path} is not valid YAML or JSON${(err as { linePos?: { line: number }[] }).linePos?.[0] ? ` (line ${(err as { linePos: { line: number }[] }).linePos[0]?.line})` : ''}`);
  }
  if (!Array.isArray(document) || document.length === 0) throw new AdminCredentialsError(`${path} must be a non-empty list of { name, secret, actions }`);
  return document.map((entry, index) => credentialOf(entry, `${path}: entry ${index + 1}`, file, env));
}

function credentialOf(entry: unknown, where: string, file: string, env: Readonly<Record<string, string | undefined>>): AdminCredential {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new AdminCredentialsError(`${where} must be a map with name, secret and actions`);
  const { name, secret, actions, ...rest } = entry as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new AdminCredentialsError(`${where}: unknown key "${unknown[0]}" (allowed: name, secret, actions)`);
  if (typeof name !== 'string' || !NAME.test(name)) throw new AdminCredentialsError(`${where}: name must be 1–64 letters, digits, ".", "_" or "-"`);
  const named = `${where} (${name})`;
  if (name === ADMIN_SECRET_NAME || name === METRICS_SECRET_NAME) {
    throw new AdminCredentialsError(`${named}: the name is kept for TOKENSMITH_ADMIN_SECRET and TOKENSMITH_METRICS_SECRET; choose another`);
  }
  if (typeof secret !== 'string' || secret === '') throw new AdminCredentialsError(`${named}: secret must be text (a literal, \${env:NAME} or \${file:path})`);
  const resolved = resolveReferences(secret, file, env);
  if (resolved.errors.length) throw new AdminCredentialsError(`${named}: ${resolved.errors.join('; ')}`);
  if (resolved.warnings.length) throw new AdminCredentialsError(`${named}: an admin secret may not fall back to a default written in the file`);
  if (resolved.value.length < MIN_ADMIN_SECRET) throw new AdminCredentialsError(`${named}: the secret must be at least ${MIN_ADMIN_SECRET} characters`);
  return { name, secret: resolved.value, actions: actionsOf(actions, named) };
}

function actionsOf(actions: unknown, where: string): AdminCredential['actions'] {
  if (actions === 'all') return 'all';
  if (!Array.isArray(actions) || actions.length === 0) throw new AdminCredentialsError(`${where}: actions must be all or a non-empty list of ${ADMIN_ACTIONS.join(', ')}`);
  for (const action of actions) {
    if (!ADMIN_ACTIONS.includes(action as AdminAction)) {
      throw new AdminCredentialsError(`${where}: unknown action "${String(action)}"; the actions are ${ADMIN_ACTIONS.join(', ')} (or all)`);
    }
  }
  return actions as AdminAction[];
}
