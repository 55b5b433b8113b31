import { parseArgs } from 'node:util';

/**
 * The command line's commands and flags as data: parsing, the environment fallbacks and every
 * help text come from this one table, so a flag cannot be accepted without being documented.
 */
export interface Flag {
  readonly name: string;
  readonly short?: string;
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** The value's placeholder in help (`DIR`, `N`). */
  readonly arg?: string;
  /** The environment variable used when the flag is not given. For `multiple` flags: comma-separated. */
  readonly env?: string;
  /** The default, as help shows it. */
  readonly default?: string;
  /** Shown without brackets in the synopsis; the command checks it. */
  readonly required?: boolean;
  readonly help: string;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** What follows the flags (`FILE|DIR…`, `TOKEN`), if anything. */
  readonly positionals?: string;
  readonly flags: readonly Flag[];
  /** Further environment variables the command reads, with what they do. */
  readonly env?: readonly (readonly [string, string])[];
  /** Lines shown at the end of the command's help. */
  readonly notes?: readonly string[];
}

const POLICIES: Flag = {
  name: 'policies', type: 'string', multiple: true, arg: 'DIR|FILE', env: 'TOKENSMITH_POLICIES', default: './policies',
  help: 'policy files or folders of *.yaml/*.yml files; repeat for several',
};
const PLUGIN: Flag = {
  name: 'plugin', type: 'string', multiple: true, arg: 'PATH', env: 'TOKENSMITH_PLUGINS',
  help: 'an outside plugin module (ESM) to load; repeat for several',
};
const STORE: Flag = {
  name: 'store', type: 'string', arg: 'memory|URL', env: 'TOKENSMITH_STORE', default: 'memory',
  help: 'where sessions and lockouts live: the embedded memory store (memory:?maxEntries=N&maxCounters=M bounds it), or Redis: redis://[USER:PASS@]HOST:PORT/DB, rediss://…?ca=FILE&cert=FILE&key=FILE (TLS), redis+sentinel://S1:26379,S2:26379/PRIMARY, redis+cluster://N1:7000,N2:7001,N3:7002; ?wait=N waits for N replicas (docs/operations.md)',
};
const HELP: Flag = { name: 'help', short: 'h', type: 'boolean', help: 'show this help' };
const ONE_SHOT: readonly Flag[] = [
  { name: 'policy', type: 'string', arg: 'ID', required: true, help: 'the policy to use (required)' },
  { name: 'param', type: 'string', multiple: true, arg: 'NAME=VALUE', help: 'a request parameter, as a caller would send it; repeat for several' },
  { name: 'ip', type: 'string', arg: 'ADDR', default: '127.0.0.1', help: "the caller's address" },
  POLICIES, STORE, PLUGIN, HELP,
];

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'serve',
    summary: 'serve the policies over HTTP',
    flags: [
      POLICIES,
      { name: 'host', type: 'string', arg: 'HOST', env: 'TOKENSMITH_HOST', default: '127.0.0.1', help: 'address to listen on (0.0.0.0 or :: for every interface)' },
      { name: 'port', type: 'string', arg: 'N', env: 'TOKENSMITH_PORT', default: '8080', help: 'port to listen on; 0 picks a free one; PORT is read after TOKENSMITH_PORT' },
      STORE,
      PLUGIN,
      { name: 'trust-proxy', type: 'string', arg: 'ADDR[,CIDR…]', env: 'TOKENSMITH_TRUSTED_PROXIES', help: 'peers whose X-Forwarded-For is believed' },
      { name: 'workers', type: 'string', arg: 'N|auto', env: 'TOKENSMITH_WORKERS', default: '1', help: 'worker processes sharing the port (node:cluster); auto = one per core; more than 1 needs a shared store (redis://…)' },
      { name: 'memory-per-worker', type: 'boolean', help: 'with --workers above 1: give each worker its own memory store; refused unless every policy keeps no state (self-contained tokens, no lockout or single use, no revocation)' },
      { name: 'watch', type: 'boolean', help: 'reload the policies when a policy file changes' },
      { name: 'grace', type: 'string', arg: 'DURATION', default: '10s', help: 'how long a stop waits for requests in flight' },
      { name: 'demo', type: 'boolean', help: 'serve the Melissa browser demo at /demo/melissa' },
      { name: 'log-format', type: 'string', arg: 'json|pretty', env: 'TOKENSMITH_LOG_FORMAT', default: 'pretty on a terminal, else json', help: 'how log lines are written (to stderr)' },
      { name: 'log-level', type: 'string', arg: 'LEVEL', env: 'TOKENSMITH_LOG_LEVEL', default: 'info', help: 'trace, debug, info, warn, error, fatal or silent' },
      { name: 'admin-credentials', type: 'string', arg: 'PATH', env: 'TOKENSMITH_ADMIN_CREDENTIALS', help: 'admin secrets with names and allowed actions (YAML/JSON list of {name, secret, actions}; see docs/audit.md)' },
      { name: 'audit', type: 'string', arg: 'PATH|stderr', env: 'TOKENSMITH_AUDIT', help: 'write the audit trail (one JSON line per security event; see docs/audit.md) to a file or to stderr' },
      HELP,
    ],
    env: [
      ['TOKENSMITH_ADMIN_SECRET', 'enables the admin routes (POST /introspect, POST /revoke, …) with Authorization: Bearer <secret>: a credential allowed every action'],
      ['TOKENSMITH_AUDIT_KEY', 'the key (16+ characters) of the HMACs the audit trail writes for token ids; unset: a random key per process'],
      ['TOKENSMITH_METRICS_SECRET', 'GET /metrics then needs Authorization: Bearer <secret> (or an admin credential allowed metrics)'],
      ['TOKENSMITH_METRICS=off', 'no /metrics route'],
      ['TOKENSMITH_METRICS=admin', 'GET /metrics needs an admin credential allowed metrics'],
      ['TOKENSMITH_REDIS_PREFIX', 'key prefix in Redis (default tokensmith:)'],
      ['TOKENSMITH_MAX_POLICY_BYTES', 'largest policy file read (default 1048576 = 1 MiB)'],
    ],
    notes: [
      'signals: SIGHUP reloads the policies (and reopens the audit file); SIGTERM/SIGINT stop gracefully (a second one stops at once)',
      'with --workers N, send them to the primary process: it passes them to every worker and starts a crashed worker again',
    ],
  },
  {
    name: 'check',
    summary: 'check policy files and print every problem as file:line:col',
    positionals: '[FILE|DIR…]',
    flags: [PLUGIN, HELP],
    env: [['TOKENSMITH_MAX_POLICY_BYTES', 'largest policy file read (default 1048576 = 1 MiB)']],
    notes: ['FILE|DIR defaults to ./policies. Exit 0: valid (warnings go to stderr); 1: problems found.'],
  },
  {
    name: 'schema',
    summary: "print the policy JSON Schema with every style's block, for editors",
    flags: [PLUGIN, HELP],
  },
  {
    name: 'issue',
    summary: "issue a token under a policy and print the reply in the policy's format",
    flags: ONE_SHOT,
    notes: ['Exit 0: issued; 1: refused (the refusal is printed in the reply format).'],
  },
  {
    name: 'verify',
    summary: "verify a token under a policy and print its record as JSON",
    positionals: 'TOKEN',
    flags: ONE_SHOT,
    notes: ['Exit 0: valid; 1: refused (the error code on stdout, code and message on stderr).'],
  },
  {
    name: 'lockouts',
    summary: "list a policy's locks, or lift one, on a running server or in a shared store",
    positionals: 'list|unlock',
    flags: [
      { name: 'policy', type: 'string', arg: 'ID', required: true, help: 'the policy whose locks to list or lift (required)' },
      { name: 'url', type: 'string', arg: 'URL', help: "a running server, asked through its admin API with TOKENSMITH_ADMIN_SECRET; without it, --store is read directly" },
      { name: 'credential-id', type: 'string', arg: 'ID', help: 'unlock: the credential id that is locked' },
      { name: 'address', type: 'string', arg: 'ADDR', help: 'unlock: the client address that is locked (or the /64 a listing shows)' },
      { name: 'fingerprint', type: 'string', arg: 'FP', help: 'unlock: the fingerprint a listing shows for a lock of a secret (a licence)' },
      { name: 'limit', type: 'string', arg: 'N', default: '1000', help: 'list: at most this many locks, ending soonest first (at most 10000)' },
      POLICIES, STORE, PLUGIN, HELP,
    ],
    env: [['TOKENSMITH_ADMIN_SECRET', 'with --url: sent as Authorization: Bearer <secret>']],
    notes: [
      'Prints JSON, as GET /admin/lockouts and POST /admin/lockouts/unlock answer. With --store, give the --policies the servers load.',
      'Exit 0: done; 1: refused (no such lock: ERR_LOCK_NOT_FOUND) or the server or store unreachable; 2: a usage mistake.',
    ],
  },
  {
    name: 'revoke',
    summary: 'revoke every token of a credential or subject (or one TOKEN), through a running server or directly in a shared store',
    positionals: '[TOKEN]',
    flags: [
      { name: 'policy', type: 'string', arg: 'ID', required: true, help: 'the policy whose tokens are revoked (required)' },
      { name: 'credential-id', type: 'string', arg: 'ID', help: 'revoke every token issued to this credential' },
      { name: 'sub', type: 'string', arg: 'SUBJECT', help: 'revoke every token of this subject, whichever credential it was issued to' },
      { name: 'url', type: 'string', arg: 'URL', env: 'TOKENSMITH_URL', help: 'a running server to call (POST URL/revoke with TOKENSMITH_ADMIN_SECRET)' },
      { ...STORE, help: 'without --url: the store the servers share (redis://HOST:PORT/DB), changed directly' },
      POLICIES, PLUGIN, HELP,
    ],
    env: [['TOKENSMITH_ADMIN_SECRET', 'the admin secret sent to the server with --url (never a flag: command lines are visible to other users)']],
    notes: [
      'Give one of --credential-id, --sub or TOKEN. Prints what was revoked as JSON (docs/revocation.md).',
      'Exit 0: done; 1: refused or failed (the error code and message on stderr).',
    ],
  },
  {
    name: 'keys',
    summary: 'make a new signing key for a jwt policy (keys generate)',
    positionals: 'generate',
    flags: [
      { name: 'alg', type: 'string', arg: 'ALG', required: true, help: 'RS256, PS256, ES256, ES384, EdDSA, or HS256/HS384/HS512 (a secret)' },
      { name: 'format', type: 'string', arg: 'jwk|pem', default: 'jwk', help: 'a private JWK (one line, with kid and alg) or PKCS#8 PEM' },
      { name: 'kid', type: 'string', arg: 'KID', help: "the JWK's kid (default: its RFC 7638 thumbprint)" },
      HELP,
    ],
    notes: ['Prints the private key on stdout and keeps no copy: redirect it to a file only its service can read (see the rotation runbook in docs/policies.md).'],
  },
  {
    name: 'help',
    summary: 'show help for a command',
    positionals: '[COMMAND]',
    flags: [],
  },
];

export function commandNamed(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** A mistake in how the command line was written: exit 2. */
export class UsageError extends Error {
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

const flagText = (flag: Flag): string => `--${flag.name}${flag.arg ? ` ${flag.arg}` : ''}${flag.multiple ? '…' : ''}`;

function synopsis(spec: CommandSpec): string {
  const flags = spec.flags.filter((f) => f !== HELP).map((f) => (f.required ? flagText(f) : `[${flagText(f)}]`)).join(' ');
  return `tokensmith ${spec.name}${flags ? ` ${flags}` : ''}${spec.positionals ? ` ${spec.positionals}` : ''}`;
}

/** The global usage: every command with its summary. */
export function globalHelp(version: string): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `tokensmith ${version}: issues and validates vendor-style API tokens under YAML policies`,
    '',
    'usage: tokensmith COMMAND [flags]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'flags: -h, --help (also after a command)   --version',
    'Run "tokensmith help COMMAND" (or "tokensmith COMMAND --help") for its flags and environment variables.',
  ].join('\n');
}

/** One command's help: synopsis, every flag with its environment variable and default, further variables, notes. */
export function commandHelp(spec: CommandSpec): string {
  const rows = spec.flags.map((f) => [`${f.short ? `-${f.short}, ` : '    '}${flagText(f)}`, f] as const);
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  const lines = [`tokensmith ${spec.name}: ${spec.summary}`, '', `usage: ${synopsis(spec)}`];
  if (rows.length) {
    lines.push('', 'flags:');
    for (const [left, flag] of rows) {
      const extra = [flag.env ? `env ${flag.env}` : '', flag.default ? `default ${flag.default}` : ''].filter(Boolean).join('; ');
      lines.push(`  ${left.padEnd(width)}  ${flag.help}${extra ? ` (${extra})` : ''}`);
    }
  }
  if (spec.env?.length) {
    lines.push('', 'environment:');
    for (const [name, what] of spec.env) lines.push(`  ${name}: ${what}`);
  }
  if (spec.notes?.length) lines.push('', ...spec.notes);
  return lines.join('\n');
}

export type Values = Record<string, string | boolean | string[] | undefined>;

/**
 * Parses a command's arguments strictly (an unknown flag is a usage error), then fills in the
 * environment fallbacks of flags not given. Multiple-valued flags from the environment are
 * comma-separated.
 */
export function parseCommand(spec: CommandSpec, args: readonly string[], env: Readonly<Record<string, string | undefined>>): { values: Values; positionals: string[] } {
  const options = Object.fromEntries(
    spec.flags.map((f) => [f.name, { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.short ? { short: f.short } : {}) }]),
  );
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (err) {
    // Node's own message, first sentence only ("Unknown option '--port'"), without its advice about positionals.
    const first = (err as Error).message.split(/\.\s|\n/)[0] ?? 'invalid arguments';
    throw new UsageError(`${first.charAt(0).toLowerCase()}${first.slice(1)}`, spec.name);
  }
  const values: Values = { ...parsed.values };
  for (const flag of spec.flags) {
    const fromEnv = flag.env === undefined ? undefined : env[flag.env];
    if (values[flag.name] !== undefined || fromEnv === undefined || fromEnv === '') continue;
    values[flag.name] = flag.multiple ? fromEnv.split(',').map((s) => s.trim()).filter(Boolean) : fromEnv;
  }
  return { values, positionals: parsed.positionals };
}
