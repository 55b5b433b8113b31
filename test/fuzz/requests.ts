import fc from 'fast-check';
import type { FuzzRequest } from './client.js';

/** A route family: the paths one policy (or the host) serves, with the names and values that reach deep into them. */
export interface Family {
  readonly name: string;
  readonly routes: readonly { readonly path: string; readonly methods: readonly string[] }[];
  /** Parameter names the family reads. */
  readonly params: readonly string[];
  /** Values that get past the first checks: credentials, minted tokens, formats, policy ids. */
  readonly values: readonly string[];
  /** `Authorization` values worth sending (bearer tokens, the admin secret). */
  readonly authorizations: readonly string[];
  /**
   * Query strings that get a route to its end (a credential, a live token with what goes with
   * it): the fuzzer starts from one often, then drops, adds or changes pairs.
   */
  readonly recipes: readonly string[];
  /**
   * Mints just before each batch is sent: placeholders (`fresh('token')`, …) in a request are
   * replaced by the values minted for them, so every batch has live tokens to send, changed or
   * not, whatever the clock did meanwhile.
   */
  readonly mint?: () => Promise<Readonly<Record<string, string>>>;
}

/** The placeholder of a value minted for each batch (`fresh('token')`, `fresh('XUT')`). */
export const fresh = (name: string): string => `FUZZFRESH${name}X`;

/** Every method Node's HTTP parser knows (CONNECT aside: Node answers it by closing the socket), and some it does not. */
const METHODS = [
  'GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK',
  'UNLOCK', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PURGE', 'SEARCH', 'REPORT', 'MKACTIVITY', 'MERGE', 'ACL', 'LINK', 'QUERY',
];
const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ-'.split('');

/** Percent-escapes that have broken servers: bad escapes, NUL, CR LF, overlong and surrogate UTF-8, non-characters, separators. */
const HOSTILE = [
  '%', '%0', '%zz', '%00', '%01', '%1F', '%7F', '%0D%0A', '%0A', '%C0%80', '%ED%A0%80', '%EF%BF%BE', '%EF%BF%BF', '%FF', '%E2%80%A8',
  '%C2%85', '%22', '%27', '%2C', '%26', '%3D', '%3B', '%3C%2FResponse%3E%3CX%3E', '%25', '+', '%2B', '..%2F', '%5B%5D', '%F0%9F%98%80',
  '%EF%BB%BF', '%C3%A9', '&', '=', '==', '[]', '[0]', '[a][b]', '.', '%2E%2E',
];
const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Percent-encodes the UTF-8 bytes of any string (lone surrogates become U+FFFD first, as they would on the wire). */
function encode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url');

/** JWT-shaped text with headers and claims of any JSON type: what broke `kid` handling. */
const jwtShaped = fc
  .tuple(
    fc.record({ alg: fc.oneof(fc.constantFrom('HS256', 'none', 'RS256', 'HS512'), fc.jsonValue()), kid: fc.jsonValue(), typ: fc.jsonValue(), crit: fc.jsonValue() }, { requiredKeys: [] }),
    fc.record({ sub: fc.jsonValue(), iat: fc.jsonValue(), exp: fc.jsonValue(), nbf: fc.jsonValue(), jti: fc.jsonValue(), kid: fc.jsonValue(), scope: fc.jsonValue(), cip: fc.jsonValue(), iss: fc.jsonValue() }, { requiredKeys: [] }),
    fc.string({ maxLength: 50 }),
  )
  .map(([header, payload, sig]) => `${b64url(header)}.${b64url(payload)}.${Buffer.from(sig).toString('base64url')}`);

/** A value, already percent-encoded for a query or form: family values, hostile escapes, random text, huge text. */
function valueOf(family: Family): fc.Arbitrary<string> {
  const known = family.values.length ? fc.constantFrom(...family.values) : fc.constant('');
  return fc.oneof(
    { weight: 4, arbitrary: known.map(encode) },
    { weight: 2, arbitrary: fc.tuple(known, fc.constantFrom(...HOSTILE), fc.nat(40)).map(([v, h, at]) => encode(v.slice(0, at)) + h + encode(v.slice(at))) },
    { weight: 2, arbitrary: fc.array(fc.constantFrom(...HOSTILE), { minLength: 1, maxLength: 4 }).map((parts) => parts.join('')) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map(encode) },
    { weight: 1, arbitrary: jwtShaped.map(encode) },
    { weight: 1, arbitrary: fc.constantFrom('', 'xml', 'csv', 'json', 'query', 'XML', 'gettoken', '0001', '9900', '0000', '9960', '99999', 'fe80::1%25eth0', '::1', '1.2.3.4') },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'A'.repeat(n)) },
  );
}

/** A name: one the family reads (in any letter case, with list or object syntax), or anything. */
function nameOf(family: Family): fc.Arbitrary<string> {
  const known = fc.constantFrom(...family.params);
  return fc.oneof(
    { weight: 6, arbitrary: known },
    { weight: 2, arbitrary: known.map((n) => (n === n.toLowerCase() ? n.toUpperCase() : n.toLowerCase())) },
    { weight: 1, arbitrary: fc.tuple(known, fc.constantFrom('[]', '[0]', '[a]', '[a][b]', '.x', '%5B%5D')).map(([n, s]) => n + s) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', '', '%00', '%EF%BF%BE', '%22%0D%0A') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map(encode) },
  );
}

/**
 * `name=value&…`: a family recipe with a pair dropped, changed or added, or pairs of the family's
 * names (duplicates come from the small name pool); sometimes hundreds of pairs, odd separators,
 * bare names.
 */
function pairsOf(family: Family): fc.Arbitrary<string> {
  const pair = fc.tuple(nameOf(family), fc.option(valueOf(family), { nil: undefined, freq: 8 })).map(([n, v]) => (v === undefined ? n : `${n}=${v}`));
  const recipe = fc.tuple(fc.constantFrom(...(family.recipes.length ? family.recipes : [''])), fc.array(pair, { maxLength: 2 }), fc.nat(), fc.boolean()).map(
    ([base, extra, at, drop]) => {
      const parts = base === '' ? [] : base.split('&');
      if (drop && parts.length) parts.splice(at % parts.length, 1);
      return [...parts, ...extra].join('&');
    },
  );
  return fc.oneof(
    { weight: 6, arbitrary: recipe },
    { weight: 4, arbitrary: fc.array(pair, { maxLength: 6 }).map((pairs) => pairs.join('&')) },
    { weight: 1, arbitrary: fc.tuple(fc.array(pair, { maxLength: 4 }), fc.constantFrom('&', '&&', ';', '&;', '?')).map(([pairs, sep]) => sep + pairs.join(sep) + sep) },
    { weight: 1, arbitrary: fc.tuple(nameOf(family), fc.integer({ min: 100, max: 1_500 })).map(([n, count]) => Array.from({ length: count }, (_, i) => `${n}${i % 7}=${i}`).join('&')) },
  );
}

/** A path: the route's as is (most often), in another case, with a slash, an escape or a segment more, or anything. */
function pathOf(path: string): fc.Arbitrary<string> {
  const route = fc.constant(path);
  return fc.oneof(
    { weight: 10, arbitrary: route },
    { weight: 1, arbitrary: route.map((p) => p.toUpperCase()) },
    { weight: 1, arbitrary: fc.tuple(route, fc.constantFrom('/', '//', '/.', '/..', '%2F', '%00', '/%2e%2e/', ';x', '/x', '%')).map(([p, s]) => p + s) },
    { weight: 1, arbitrary: fc.tuple(route, fc.nat()).map(([p, i]) => { const at = 1 + (i % (p.length - 1)); return `${p.slice(0, at)}%${p.charCodeAt(at).toString(16).toUpperCase()}${p.slice(at + 1)}`; }) },
    { weight: 1, arbitrary: route.map((p) => `/${p}`) },
    { weight: 1, arbitrary: route.map((p) => `http://127.0.0.1${p}`) },
    { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: fc.constantFrom(...'abz/.~-_!$\'()*,;:@é'.split('')), maxLength: 8 })), { maxLength: 5 }).map((parts) => `/${parts.join('/')}`) },
    { weight: 1, arbitrary: fc.integer({ min: 2_000, max: 9_000 }).map((n) => `/${'p'.repeat(n)}`) },
  );
}

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded', 'application/json', 'text/plain', 'application/xml', 'multipart/form-data; boundary=x',
  'application/json; charset=utf-16le', 'application/x-www-form-urlencoded; charset=iso-8859-1', 'application/json; charset=bogus',
  'application/x-www-form-urlencoded; charset=utf-7', 'application/csp-report', 'application/vnd.api+json', 'text/html', '*/*', ';', 'x',
];
const FORWARDED = ['203.0.113.7', 'fe80::1%eth0', 'FE80::1%eth0', 'fe80::1%bad zone', 'fe80::1%', '::ffff:1.2.3.4%x', '[::1]', '[fe80::2%lo]', 'garbage', '', '1.2.3.4:80', '999.1.1.1', 'unknown', '2001:db8::1'];

/** Headers: a content type (right, wrong or malformed), sometimes an encoding, X-Forwarded-For, Authorization, a method override. */
function headersOf(family: Family, hasBody: boolean): fc.Arbitrary<Record<string, string>> {
  const auth = fc.oneof(
    fc.constantFrom(...(family.authorizations.length ? family.authorizations : ['Bearer x'])),
    jwtShaped.map((t) => `Bearer ${t}`),
    fc.constantFrom('Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', 'bearer  a  b', 'Bearer \t x'),
    fc.string({ unit: fc.constantFrom(...'abc XYZ012=._-~+/'.split('')), maxLength: 40 }).map((t) => `Bearer ${t}`),
  );
  return fc
    .record(
      {
        'content-type': fc.constantFrom(...CONTENT_TYPES),
        'content-encoding': fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-bogus', 'gzip, gzip'),
        'x-forwarded-for': fc.array(fc.constantFrom(...FORWARDED), { minLength: 1, maxLength: 3 }).map((a) => a.join(', ')),
        authorization: auth,
        'x-http-method-override': fc.constantFrom('DELETE', 'PUT', 'TRACE'),
        accept: fc.constantFrom('application/xml', 'text/csv', '*/*', 'application/json;q=0'),
      },
      { requiredKeys: [] },
    )
    .map((headers) => {
      const out: Record<string, string> = { ...headers };
      if (!hasBody) delete out['content-encoding'];
      return out;
    });
}

/** A body: the form or JSON a route expects (with hostile values), JSON of any shape, random bytes, or more than the limit. */
function bodyOf(family: Family): fc.Arbitrary<Buffer | undefined> {
  const json = fc.oneof(
    fc.jsonValue(),
    fc.dictionary(nameOf(family).map((n) => decodeSafe(n)), fc.oneof(fc.jsonValue(), valueOf(family).map(decodeSafe)), { maxKeys: 6 }),
  );
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: pairsOf(family).map((text) => Buffer.from(text, 'latin1')) },
    { weight: 2, arbitrary: json.map((v) => Buffer.from(JSON.stringify(v) ?? 'null', 'utf8')) },
    { weight: 1, arbitrary: json.map((v) => Buffer.from((JSON.stringify(v) ?? 'null').slice(0, -1), 'utf8')) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]), Buffer.from('\uFEFF{"a":"b"}'), Buffer.from('{"__proto__":{"x":1},"constructor":{"prototype":{}}}')) },
    { weight: 1, arbitrary: fc.integer({ min: 16_000, max: 40_000 }).map((n) => Buffer.alloc(n, 0x61)) },
  );
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A method: mostly one the route takes, else any Node knows, an unknown token, or one in the wrong case. */
function methodOf(methods: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...methods) },
    { weight: 2, arbitrary: fc.constantFrom(...METHODS) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...NAME_CHARS), { minLength: 1, maxLength: 10 }).map((c) => c.join('')) },
    { weight: 1, arbitrary: fc.constantFrom('get', 'Post', 'pOST') },
  );
}

/** One hostile request to one of a family's routes. */
export function requestTo(family: Family): fc.Arbitrary<FuzzRequest> {
  return fc
    .constantFrom(...family.routes)
    .chain((route) => fc.tuple(methodOf(route.methods), pathOf(route.path), fc.option(pairsOf(family), { nil: undefined, freq: 4 }), bodyOf(family)))
    .chain(([m, path, query, body]) =>
      headersOf(family, body !== undefined).map((headers): FuzzRequest => ({
        method: m,
        path: query === undefined ? path : `${path}?${query}`,
        headers,
        ...(body === undefined ? {} : { body }),
      })),
    );
}
