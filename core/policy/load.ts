import { open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseDuration } from '../duration.js';
import { PolicyInvalidError, type PolicyIssue } from '../errors.js';
import type { GuardPlugin } from '../guard.js';
import type { StyleManifest } from '../ports.js';
import { ADVICE, SEMANTIC_CHECKS } from './checks.js';
import { parsePolicyDocument, type PolicyDocument } from './document.js';
import { SecretValues } from './redact.js';
import type { Credential, IpBindingMode, IssueRoute, Policy, ProtectedRoute } from './types.js';
import { validateDocument } from './validate.js';
import { foldPath } from './paths.js';
import { literalSecrets } from './advice.js';

/** The names a policy may use: the styles (with their schemas), the reply encoders and the guards (with the keys they own). */
export interface PolicyCatalog {
  readonly styles: ReadonlyMap<string, StyleManifest>;
  readonly encoders: ReadonlySet<string>;
  readonly guards: ReadonlyMap<string, GuardPlugin>;
}

export interface LoadOptions {
  readonly catalog: PolicyCatalog;
  /** Where `${env:…}` references and `TOKENSMITH_MAX_POLICY_BYTES` are read; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The largest policy file accepted, in bytes; default `TOKENSMITH_MAX_POLICY_BYTES` from `env`, else `MAX_POLICY_BYTES`. */
  readonly maxFileBytes?: number;
}

/**
 * The default size limit of one policy file: 1 MiB holds some 20,000 credentials, and a file
 * made to exhaust memory or time is refused before it is parsed.
 */
export const MAX_POLICY_BYTES = 1024 * 1024;

/** At most this many problems are listed per file, then "… and N more problems". */
export const MAX_ISSUES_PER_FILE = 100;

export interface LoadResult {
  readonly policies: Policy[];
  /** Not errors, but to be shown loudly (a demo default was used). */
  readonly warnings: PolicyIssue[];
}

const DEFAULT_TTL_MS = 5 * 60_000;
const DEFAULT_MIN_MS = 1_000;
const DEFAULT_MAX_MS = 24 * 3_600_000;
const ms = (text: string | undefined): number | undefined => (text === undefined ? undefined : parseDuration(text));

/** Freezes a value and everything in it (a policy never changes once loaded). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

type Raw = Record<string, any>;

/** One route or a list of them, with default methods. */
const routesOf = <T>(raw: Raw | Raw[] | undefined): T[] =>
  (raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]).map(
    (r) => ({ ...r, methods: r['methods'] ?? ['GET', 'POST'], ...(r['format'] === undefined ? {} : { format: String(r['format']).toLowerCase() }) }) as T,
  );

/** The values of the keys the guards own, as written. */
function rulesOf(data: Raw, guards: ReadonlyMap<string, GuardPlugin>): Record<string, unknown> {
  const rules: Record<string, unknown> = {};
  for (const guard of guards.values()) for (const key of Object.keys(guard.keys)) if (data[key] !== undefined) rules[key] = data[key];
  return rules;
}

/** The `Policy` of schema-valid data (defaults filled in, durations in ms). */
function build(data: Raw, file: string, guards: ReadonlyMap<string, GuardPlugin>): Policy {
  const ttl = (data['ttl'] ?? {}) as Raw;
  const defaultMs = ms(ttl['default']) ?? DEFAULT_TTL_MS;
  const ip = data['ipBinding'];
  const output = (data['output'] ?? {}) as Raw;
  const allowed = ((output['allowed'] as string[] | undefined) ?? [output['default'] ?? 'json']).map((f) => f.toLowerCase());
  const lockout = data['lockout'] as Raw | undefined;
  const style = data['style'] as string;
  return {
    id: data['id'],
    style,
    ...(data['description'] === undefined ? {} : { description: data['description'] }),
    source: resolve(file),
    routes: routesOf<IssueRoute>(data['route']),
    protectedRoutes: routesOf<ProtectedRoute>(data['protectedRoute']),
    caseInsensitiveParams: data['params']?.['caseInsensitive'] ?? false,
    caseInsensitivePaths: data['paths']?.['caseInsensitive'] ?? false,
    ...(data['credentials'] === undefined ? {} : { credentials: data['credentials'] as Credential[] }),
    ttl: { defaultMs, minMs: ms(ttl['min']) ?? DEFAULT_MIN_MS, maxMs: ms(ttl['max']) ?? Math.max(defaultMs, DEFAULT_MAX_MS) },
    ipBinding:
      typeof ip === 'string'
        ? { mode: ip as IpBindingMode, param: 'IP' }
        : { mode: (ip?.['mode'] ?? 'off') as IpBindingMode, param: (ip?.['param'] as string | undefined) ?? 'IP' },
    ...(lockout === undefined
      ? {}
      : {
          lockout: {
            threshold: lockout['threshold'],
            windowMs: ms(lockout['window']) as number,
            durationMs: ms(lockout['duration']) as number,
            per: lockout['per'] ?? ['credential'],
          },
        }),
    output: {
      ...(output['param'] === undefined ? {} : { param: output['param'] }),
      default: String(output['default'] ?? allowed[0]).toLowerCase(),
      allowed,
    },
    reuse: data['reuse'] ?? true,
    logParams: data['log']?.['params'] ?? [],
    settings: (data[style] ?? {}) as Record<string, unknown>,
    rules: rulesOf(data, guards),
  };
}

interface Loaded {
  policy?: Policy;
  document?: PolicyDocument;
  issues: PolicyIssue[];
  warnings: PolicyIssue[];
  /** The values the file's secret references gave, to be named by their reference in any message. */
  secrets?: SecretValues;
}

/** The size limit of one file: the option, the environment, or the default; an issue when the environment's is not a size. */
function sizeLimit(options: LoadOptions): number | PolicyIssue {
  if (options.maxFileBytes !== undefined) return options.maxFileBytes;
  const text = (options.env ?? process.env)['TOKENSMITH_MAX_POLICY_BYTES'];
  if (text === undefined || text === '') return MAX_POLICY_BYTES;
  if (/^[1-9][0-9]{0,9}$/.test(text)) return Number(text);
  return { file: 'TOKENSMITH_MAX_POLICY_BYTES', line: 1, col: 1, path: '', message: `expected a whole number of bytes, such as 2097152 for 2 MiB; got "${text.slice(0, 20)}"` };
}

const tooLarge = (file: string, limit: number): Loaded => ({
  issues: [{ file, line: 1, col: 1, path: '', message: `the file is larger than ${sizeOf(limit)}, the limit for one policy file (TOKENSMITH_MAX_POLICY_BYTES); refused unread` }],
  warnings: [],
});

const sizeOf = (bytes: number): string =>
  bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;

/** The whole pipeline for one file's text: parse → references → schema → semantic checks → freeze. */
function compileText(text: string, file: string, options: LoadOptions): Loaded {
  const limit = sizeLimit(options);
  if (typeof limit !== 'number') return { issues: [limit], warnings: [] };
  if (Buffer.byteLength(text) > limit) return tooLarge(file, limit);
  const { secrets, ...parsed } = parsePolicyDocument(text, file, options.env ?? process.env);
  return { ...compileParsed(parsed, file, options), secrets };
}

/** The pipeline after parsing: schema → semantic checks → freeze. */
function compileParsed(parsed: Omit<ReturnType<typeof parsePolicyDocument>, 'secrets'>, file: string, options: LoadOptions): Loaded {
  const { document } = parsed;
  if (document === undefined) return { issues: parsed.issues, warnings: parsed.warnings };
  const issues = [...parsed.issues];
  if (document.data === null || typeof document.data !== 'object' || Array.isArray(document.data)) {
    issues.push(document.issue([], 'expected a mapping with at least id and style'));
    return { issues, warnings: parsed.warnings };
  }
  // A reference that failed resolved to "", which the schema would flag again: say it once.
  const failedRefs = new Set(parsed.issues.map((i) => i.path));
  const schemaIssues = validateDocument(document, options.catalog).filter((i) => !failedRefs.has(i.path));
  issues.push(...schemaIssues);
  const data = document.data as Raw;
  const warnings = [...parsed.warnings, ...literalSecrets(document)];
  // Every problem in one pass: the semantic checks run beside the schema's findings, each one
  // unless the schema already found its input wrong (see SemanticCheck.needs).
  const broken = brokenKeys(schemaIssues, data);
  const styleKnown = typeof data['style'] === 'string' && options.catalog.styles.has(data['style']);
  if (styleKnown && broken.has(data['style'])) broken.add('$style');
  let policy: Policy | undefined;
  try {
    policy = build(data, file, options.catalog.guards);
  } catch {
    // Data the schema refused may not build; its problems are reported already.
  }
  for (const check of SEMANTIC_CHECKS) {
    if (policy === undefined || check.needs.some((key) => broken.has(key)) || (check.needsKnownStyle && !styleKnown)) continue;
    issues.push(...check.run({ document, data, policy, ...options.catalog }));
  }
  // A guard's own checks read its keys and the credentials (lockout per credential needs some).
  for (const guard of options.catalog.guards.values()) {
    if (policy === undefined || guard.check === undefined || [...Object.keys(guard.keys), 'credentials'].some((key) => broken.has(key))) continue;
    for (const found of guard.check(policy)) issues.push(document.issue(segmentsOf(found.path), found.message));
  }
  if (issues.length || policy === undefined) return { issues, warnings };
  warnings.push(...ADVICE.flatMap((advice) => advice.run({ document, data, policy, ...options.catalog })));
  return { policy: deepFreeze(policy), document, issues, warnings };
}

/** The segments of a JSON pointer (`/lockout/per` → `['lockout', 'per']`). */
const segmentsOf = (pointer: string): (string | number)[] =>
  pointer === '' ? [] : pointer.slice(1).split('/').map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));

/** The top-level keys under which the schema found a problem (`id` and `style` also when missing). */
function brokenKeys(issues: readonly PolicyIssue[], data: Raw): Set<string> {
  const broken = new Set(issues.map((issue) => issue.path.split('/')[1] ?? ''));
  for (const key of ['id', 'style']) if (typeof data[key] !== 'string') broken.add(key);
  return broken;
}

/** Checks across files: unique ids, no two policies on the same path and method, no key id published twice. */
function crossCheck(loaded: readonly Loaded[], catalog?: PolicyCatalog): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  issues.push(...publishedKeyClashes(loaded, catalog));
  const ids = new Map<string, PolicyIssue>();
  const routes = new Map<string, { policy: string; path: string }>();
  for (const { policy, document } of loaded) {
    if (policy === undefined || document === undefined) continue;
    const first = ids.get(policy.id);
    if (first !== undefined) issues.push(document.issue(['id'], `policy id "${policy.id}" is already used in ${first.file}:${first.line}:${first.col}`));
    else ids.set(policy.id, document.issue(['id'], ''));
    for (const [which, list] of [['route', policy.routes], ['protectedRoute', policy.protectedRoutes]] as const) {
      list.forEach((route, i) => {
        const at = Array.isArray((document.data as Raw)[which]) ? [which, i, 'path'] : [which, 'path'];
        for (const method of route.methods) {
          // Keyed by the folded path: the host matches every route with one lookup of the folded path.
          const key = `${method} ${foldPath(route.path)}`;
          const owner = routes.get(key);
          if (owner === undefined) routes.set(key, { policy: policy.id, path: route.path });
          else if (owner.path === route.path) issues.push(document.issue(at, `${method} ${route.path} is already served by policy ${owner.policy}`));
          else issues.push(document.issue(at, `${method} ${route.path} differs from ${owner.path} of policy ${owner.policy} only in letter case; routes are matched without regard to case, so only one can be served`));
        }
      });
    }
  }
  return issues;
}

/** A key id published by two policies: a verifier that picks a key from the shared JWKS by `kid` could not tell them apart. */
function publishedKeyClashes(loaded: readonly Loaded[], catalog: PolicyCatalog | undefined): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const owners = new Map<string, string>();
  for (const { policy, document } of loaded) {
    const ids = policy && catalog?.styles.get(policy.style)?.publishedKeyIds?.(policy.settings);
    if (policy === undefined || document === undefined || ids === undefined) continue;
    for (const { kid, path } of ids) {
      const owner = owners.get(kid);
      const at = [policy.style, ...path.split('/').slice(1).map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s))];
      if (owner !== undefined && owner !== policy.id) issues.push(document.issue(at, `key id "${kid}" is already published by policy ${owner}; key ids must be unique across the served JWKS`));
      else owners.set(kid, policy.id);
    }
  }
  return issues;
}

/** A file's issues in reading order. */
const byPosition = (a: PolicyIssue, b: PolicyIssue): number => a.line - b.line || a.col - b.col;

/** The first `MAX_ISSUES_PER_FILE` issues of a file in reading order, then one that counts the rest. */
function firstIssues(issues: readonly PolicyIssue[]): PolicyIssue[] {
  const sorted = [...issues].sort(byPosition);
  if (sorted.length <= MAX_ISSUES_PER_FILE) return sorted;
  const rest = sorted.length - MAX_ISSUES_PER_FILE;
  const next = sorted[MAX_ISSUES_PER_FILE] as PolicyIssue;
  return [
    ...sorted.slice(0, MAX_ISSUES_PER_FILE),
    { ...next, path: '', message: `… and ${rest} more ${rest === 1 ? 'problem' : 'problems'} from here on (only the first ${MAX_ISSUES_PER_FILE} of a file are listed)` },
  ];
}

function finish(loaded: readonly Loaded[], catalog?: PolicyCatalog): LoadResult {
  // Any message may quote a value (a check across files quotes another file's): name each secret by its reference.
  const secrets = new SecretValues();
  for (const { secrets: own } of loaded) if (own !== undefined) secrets.addAll(own);
  const hide = (issue: PolicyIssue): PolicyIssue => ({ ...issue, message: secrets.redact(issue.message) });
  const issues = [...loaded.flatMap((l) => firstIssues(l.issues)), ...crossCheck(loaded, catalog)].map(hide);
  if (issues.length) throw new PolicyInvalidError(issues);
  return { policies: loaded.map((l) => l.policy as Policy), warnings: loaded.flatMap((l) => l.warnings).map(hide) };
}

/**
 * Loads one policy from text (sync; `file` is used in messages and as the base of `${file:…}`).
 * Throws `PolicyInvalidError` listing every issue.
 *
 * @example loadPolicyText('id: demo\nstyle: emalidate\n…', 'inline.yaml', { catalog: registry })
 */
export function loadPolicyText(text: string, file: string, options: LoadOptions): LoadResult {
  return finish([compileText(text, file, options)], options.catalog);
}

/** Loads one policy file. */
export async function loadPolicyFile(file: string, options: LoadOptions): Promise<LoadResult> {
  return loadPolicies([file], options);
}

/**
 * Loads policy files and directories (a directory = its `*.yaml` / `*.yml` files, sorted, not
 * recursive). Every issue of every file is reported at once in one `PolicyInvalidError`.
 *
 * @example const { policies, warnings } = await loadPolicies(['policies'], { catalog: registry });
 */
export async function loadPolicies(paths: readonly string[], options: LoadOptions): Promise<LoadResult> {
  const files: string[] = [];
  const missing: PolicyIssue[] = [];
  for (const path of paths) {
    try {
      if ((await stat(path)).isDirectory()) {
        const names = (await readdir(path)).filter((n) => /\.ya?ml$/.test(n)).sort();
        files.push(...names.map((n) => join(path, n)));
      } else {
        files.push(path);
      }
    } catch (err) {
      missing.push({ file: path, line: 1, col: 1, path: '', message: `cannot read policy path (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
    }
  }
  const loaded: Loaded[] = missing.map((issue) => ({ issues: [issue], warnings: [] }));
  const limit = sizeLimit(options);
  if (typeof limit !== 'number') return finish([...loaded, { issues: [limit], warnings: [] }], options.catalog);
  for (const file of files) {
    let text: string | undefined;
    try {
      text = await readBounded(file, limit);
    } catch (err) {
      loaded.push({ issues: [{ file, line: 1, col: 1, path: '', message: `cannot read policy file (${(err as NodeJS.ErrnoException).code ?? 'error'})` }], warnings: [] });
      continue;
    }
    loaded.push(text === undefined ? tooLarge(file, limit) : compileText(text, file, options));
  }
  return finish(loaded, options.catalog);
}

/** A file's text, or `undefined` when it is longer than `limit` bytes (reading stops there). */
async function readBounded(file: string, limit: number): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let length = 0;
    while (length <= limit) {
      const { buffer, bytesRead } = await handle.read({ buffer: Buffer.alloc(Math.min(64 * 1024, limit + 1 - length)) });
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      length += bytesRead;
    }
    return length > limit ? undefined : Buffer.concat(chunks, length).toString('utf8');
  } finally {
    await handle.close();
  }
}
