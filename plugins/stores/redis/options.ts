import { readFileSync } from 'node:fs';
import { StoreOptionsInvalidError } from '../../../core/errors.js';

/** One Redis address. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** The TLS settings of a `rediss…` URL: PEM contents read from the files the URL names. */
export interface RedisTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** The name the server's certificate must carry (default: the host of each connection). */
  readonly servername?: string;
}

/** What a `--store` value for Redis says, parsed and checked. */
export interface RedisUrlOptions {
  readonly mode: 'single' | 'sentinel' | 'cluster';
  /** The server (single), the sentinels (sentinel), or the seed nodes (cluster). */
  readonly nodes: readonly RedisNode[];
  /** The primary's name the sentinels watch (sentinel mode only). */
  readonly primaryName?: string;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly sentinelUsername?: string;
  readonly sentinelPassword?: string;
  readonly tls?: RedisTls;
  readonly prefix?: string;
  /** Replicas that must acknowledge each write before it is reported done (`WAIT`); 0 = none. */
  readonly wait: number;
  /** How long a write waits for those replicas before it fails. */
  readonly waitTimeoutMs: number;
}

/** Each scheme, with its mode, whether it speaks TLS, and its default port. */
const SCHEMES: Readonly<Record<string, { mode: RedisUrlOptions['mode']; tls: boolean; port: number }>> = {
  redis: { mode: 'single', tls: false, port: 6379 },
  rediss: { mode: 'single', tls: true, port: 6379 },
  'redis+sentinel': { mode: 'sentinel', tls: false, port: 26379 },
  'rediss+sentinel': { mode: 'sentinel', tls: true, port: 26379 },
  'redis+cluster': { mode: 'cluster', tls: false, port: 6379 },
  'rediss+cluster': { mode: 'cluster', tls: true, port: 6379 },
};

/** The store schemes this module reads, for the plugin's manifest. */
export const REDIS_SCHEMES = Object.keys(SCHEMES);

const COMMON = ['prefix', 'wait', 'waitTimeoutMs'];
const TLS = ['ca', 'cert', 'key', 'servername'];
const SENTINEL = ['sentinelUsername', 'sentinelPassword'];
/** Far above any real replica count or sensible wait: a typo is caught, not obeyed. */
const MAX_WAIT = 16;
const MAX_WAIT_TIMEOUT_MS = 10_000;
const WHOLE = /^(0|[1-9][0-9]{0,5})$/;
const NAME = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Reads a Redis `--store` URL: `redis://` and `rediss://` (one server), `redis+sentinel://`
 * (sentinels and the primary's name) and `redis+cluster://` (seed nodes), each also over TLS
 * (`rediss+…`). Anything malformed is `StoreOptionsInvalidError`, whose message names the part
 * that is wrong but never repeats the URL, a host list or a parameter value: a password put in
 * the wrong place (unencoded `/`, `?` or `@`) would otherwise be printed.
 *
 * @example redisUrlOptions('redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster?wait=1')
 */
export function redisUrlOptions(url: string): RedisUrlOptions {
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase() ?? '';
  const kind = SCHEMES[scheme];
  if (kind === undefined) fail(`expected one of ${REDIS_SCHEMES.map((s) => `${s}://`).join(', ')}`);
  const what = `${scheme} store`;
  const rest = url.slice(scheme.length + 3);
  const queryAt = rest.indexOf('?');
  const beforeQuery = queryAt < 0 ? rest : rest.slice(0, queryAt);
  const query = new URLSearchParams(queryAt < 0 ? '' : rest.slice(queryAt + 1));
  // The user part ends at the last "@" before the query, so a password holding "/" still works.
  const at = beforeQuery.lastIndexOf('@');
  const userinfo = at < 0 ? undefined : beforeQuery.slice(0, at);
  const afterUser = at < 0 ? beforeQuery : beforeQuery.slice(at + 1);
  const slash = afterUser.indexOf('/');
  const hostList = slash < 0 ? afterUser : afterUser.slice(0, slash);
  const path = slash < 0 ? [] : afterUser.slice(slash + 1).split('/').filter((part, i, all) => part !== '' || i < all.length - 1);

  const secretGiven = (userinfo?.includes(':') ?? false) || query.has('sentinelPassword');
  const known = [...COMMON, ...(kind.tls ? TLS : []), ...(kind.mode === 'sentinel' ? SENTINEL : [])];
  for (const name of new Set(query.keys())) {
    if (!known.includes(name)) {
      // A stray "&" inside an unencoded password makes a parameter of its tail: never echo one then.
      const shown = secretGiven || !NAME.test(name) ? 'a parameter' : `"${name}"`;
      const hint = TLS.includes(name) ? ` (TLS settings need a rediss… scheme)` : SENTINEL.includes(name) ? ' (only for redis+sentinel)' : '';
      fail(`${what}: unknown ${shown}${hint}; known: ${known.join(', ')}`);
    }
    if (query.getAll(name).length > 1) fail(`${what}: parameter "${name}" given twice`);
  }
  const param = (name: string) => query.get(name) ?? undefined;

  const nodes = hostList.split(',').map((item, i) => node(item, kind.port, `${what}: ${kind.mode === 'single' ? 'the host' : `address ${i + 1} of the host list`}`));
  if (kind.mode === 'single' && nodes.length > 1) fail(`${what}: one host only; for several use redis+sentinel:// or redis+cluster://`);

  let db = 0;
  let primaryName: string | undefined;
  const dbOf = (text: string) => {
    if (!/^[0-9]{1,4}$/.test(text)) fail(`${what}: the database must be a whole number (the path /DB)`);
    return Number(text);
  };
  if (kind.mode === 'sentinel') {
    if (path.length === 0 || path.length > 2 || !NAME.test(path[0] as string)) {
      fail(`${what}: expected the primary's name after the host list (/mymaster, then optionally /DB), letters, digits, ".", "_" or "-"`);
    }
    primaryName = path[0];
    if (path[1] !== undefined) db = dbOf(path[1]);
  } else {
    if (path.length > 1) fail(`${what}: expected at most one path part, the database (/DB)`);
    if (path[0] !== undefined) db = dbOf(path[0]);
    if (kind.mode === 'cluster' && db !== 0) fail(`${what}: Redis Cluster has only database 0`);
  }

  const wait = whole(param('wait'), 0, MAX_WAIT, `${what}: wait must be a whole number of replicas from 0 to ${MAX_WAIT}`);
  const waitTimeoutMs = whole(param('waitTimeoutMs'), 1, MAX_WAIT_TIMEOUT_MS, `${what}: waitTimeoutMs must be a whole number of ms from 1 to ${MAX_WAIT_TIMEOUT_MS}`, 250);
  const prefix = param('prefix');
  if (prefix !== undefined) checkPrefix(prefix, what);

  const credentials = userinfo === undefined ? {} : user(userinfo, what, 'the user part before "@"');
  const sentinelUsername = param('sentinelUsername') || undefined;
  const sentinelPassword = param('sentinelPassword') || undefined;
  return {
    mode: kind.mode,
    nodes,
    ...(primaryName === undefined ? {} : { primaryName }),
    db,
    ...(credentials.username === undefined ? {} : { username: credentials.username }),
    ...(credentials.password === undefined ? {} : { password: credentials.password }),
    ...(sentinelUsername === undefined ? {} : { sentinelUsername }),
    ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
    ...(kind.tls ? { tls: tls(param, what) } : {}),
    ...(prefix === undefined ? {} : { prefix }),
    wait,
    waitTimeoutMs,
  };
}

/**
 * Checks a key prefix. Braces are refused: Redis Cluster hashes only the text between the first
 * `{` and `}` of a key, so a prefix holding them would put every key of every policy on one node.
 */
export function checkPrefix(prefix: string, what = 'redis store'): void {
  if (prefix.length > 128 || /[{}\s]/.test(prefix)) {
    fail(`${what}: the key prefix must be at most 128 characters, without "{", "}" or white space (Redis Cluster would hash only the part between braces)`);
  }
}

/**
 * The store URL as it may be shown in a message: the password of the user part and any
 * `sentinelPassword` replaced by `***`. Works on any URL text, parsed or not.
 */
export function redactRedisUrl(url: string): string {
  const queryAt = url.indexOf('?');
  const head = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : url.slice(queryAt);
  const shownHead = head.replace(/^([a-z+]+:\/\/[^:@]*):.*@/i, '$1:***@');
  return shownHead + query.replace(/([?&]sentinelPassword=)[^&]*/gi, '$1***');
}

function node(item: string, defaultPort: number, where: string): RedisNode {
  const match = /^(\[[0-9a-f:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]{1,5}))?$/i.exec(item);
  const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
  if (match === null || port < 1 || port > 65535) fail(`${where} is not HOST or HOST:PORT (a name, an IPv4 address or a bracketed IPv6 address; a port from 1 to 65535)`);
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}

function user(userinfo: string, what: string, where: string): { username?: string; password?: string } {
  const colon = userinfo.indexOf(':');
  const [rawName, rawPassword] = colon < 0 ? [userinfo, undefined] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)];
  try {
    const username = decodeURIComponent(rawName);
    const password = rawPassword === undefined ? undefined : decodeURIComponent(rawPassword);
    return { ...(username === '' ? {} : { username }), ...(password === undefined || password === '' ? {} : { password }) };
  } catch {
    fail(`${what}: ${where} is not valid percent-encoding (write "@", ":", "/", "?", "#" and "%" in a password as %40, %3A, %2F, %3F, %23 and %25)`);
  }
}

function whole(text: string | undefined, min: number, max: number, message: string, fallback = 0): number {
  if (text === undefined) return fallback;
  if (!WHOLE.test(text) || Number(text) < min || Number(text) > max) fail(message);
  return Number(text);
}

function tls(param: (name: string) => string | undefined, what: string): RedisTls {
  const read = (name: string): Buffer | undefined => {
    const path = param(name);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      // A file path is not a secret; the file's content is never shown.
      return fail(`${what}: cannot read the ${name} file "${path.slice(0, 200)}" (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const [ca, cert, key] = [read('ca'), read('cert'), read('key')];
  if ((cert === undefined) !== (key === undefined)) fail(`${what}: cert and key go together (a client certificate and its private key)`);
  const servername = param('servername');
  if (servername !== undefined && !/^[A-Za-z0-9.-]{1,253}$/.test(servername)) fail(`${what}: servername must be a DNS name`);
  return { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }), ...(servername === undefined ? {} : { servername }) };
}

function fail(message: string): never {
  throw new StoreOptionsInvalidError(message, { claim: 'store' });
}
