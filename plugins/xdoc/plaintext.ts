import { isUtf8 } from 'node:buffer';
import { Parser } from 'xml2js';
import { xmlTemplate } from '../../core/xml.js';
import { USER_FIELDS, type Plaintext } from './schema.js';

/** The Security Token's fields, in the order XDOC's pages list them. */
export const SECURITY_FIELDS = ['Context', 'AppId', 'AppKey', 'GenDT', 'Client'] as const;
export type Field = (typeof SECURITY_FIELDS)[number] | (typeof USER_FIELDS)[number];
/** Roots a token's XML may have (`token` is the older pages' root); JSON may wrap its fields in one. */
export const ROOTS = ['SecurityToken', 'UserToken', 'token'] as const;

/** Field values by canonical name; names in a token match case-insensitively. */
export type Fields = ReadonlyMap<Field, string>;

const CANONICAL: ReadonlyMap<string, Field> = new Map([...SECURITY_FIELDS, ...USER_FIELDS].map((f) => [f.toLowerCase(), f]));
const ROOT_NAMES = new Set(ROOTS.map((r) => r.toLowerCase()));

// Strict sax, attributes ignored, arrays always (so a repeated element is seen). sax does not
// read DTDs (no external entities, no entity expansion); a DOCTYPE is refused before parsing.
const XML_OPTIONS = { strict: true, async: false, explicitArray: true, explicitRoot: true, ignoreAttrs: true, emptyTag: '' } as const;
const DOCTYPE = /<!DOCTYPE|<!ENTITY/i;
const isBlank = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09 || code === 0;
const FORM_KEY = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** Collects fields under their canonical names; `undefined` when a field is given twice. */
function collect(entries: Iterable<[string, unknown]>): Map<Field, string> | undefined {
  const fields = new Map<Field, string>();
  let known = 0;
  for (const [name, given] of entries) {
    const field = CANONICAL.get(name.toLowerCase());
    const value = typeof given === 'number' && Number.isFinite(given) ? String(given) : given;
    if (typeof value !== 'string') return undefined; // nested elements, arrays, objects, null
    if (field === undefined) continue; // fields XDOC may add later
    if (fields.has(field)) return undefined;
    fields.set(field, value);
    known++;
  }
  return known ? fields : undefined;
}

function parseXml(text: string): Map<Field, string> | undefined {
  if (text.includes('<!') && DOCTYPE.test(text)) return undefined;
  let result: unknown;
  let failed = false;
  let rootEnd = -1;
  try {
    const parser = new Parser(XML_OPTIONS);
    // xml2js reports the document when the root closes and drops what follows (a second root,
    // text): where sax stood then says whether anything but white space came after it.
    parser.on('end', () => (rootEnd = (parser as unknown as { saxParser: { position: number } }).saxParser.position));
    parser.parseString(text, (err: Error | null, value: unknown) => {
      if (err) failed = true;
      else result ??= value;
    });
  } catch {
    return undefined;
  }
  if (failed || rootEnd < 0 || text.slice(rootEnd).trim() !== '' || result === null || typeof result !== 'object') return undefined;
  const entries = Object.entries(result as Record<string, unknown>);
  const [rootName, root] = entries[0] ?? [];
  if (entries.length !== 1 || !ROOT_NAMES.has(String(rootName).toLowerCase()) || root === null || typeof root !== 'object') return undefined;
  const children: [string, unknown][] = [];
  for (const [name, values] of Object.entries(root as Record<string, unknown>)) {
    if (name === '_' || !Array.isArray(values) || values.length !== 1) return undefined; // text beside elements, or repeated
    children.push([name, values[0]]);
  }
  return collect(children);
}

function parseJson(text: string): Map<Field, string> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  let entries = Object.entries(value as Record<string, unknown>);
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only !== undefined && ROOT_NAMES.has(only[0].toLowerCase()) && only[1] !== null && typeof only[1] === 'object' && !Array.isArray(only[1])) {
    entries = Object.entries(only[1] as Record<string, unknown>);
  }
  return collect(entries);
}

function parseForm(text: string): Map<Field, string> | undefined {
  const pairs = text.split('&').filter((p) => p !== '');
  if (pairs.some((p) => !FORM_KEY.test(p.slice(0, p.indexOf('='))))) return undefined;
  return collect(new URLSearchParams(text).entries());
}

/**
 * Reads a decrypted token: XML (`<SecurityToken>`, `<UserToken>` or `<token>`), JSON (flat, or
 * wrapped in one of those names) or a form-url string, told apart by the first character.
 * Trailing NULs and white space (padding None or Zeros) are dropped. `undefined` for anything
 * that is not one of these with at least one XDOC field: callers treat it like a failure to
 * decrypt, since a wrong key gives exactly such bytes.
 *
 * @example parsePlaintext(Buffer.from('Context=c&AppId=a'))?.get('AppId') // 'a'
 */
export function parsePlaintext(bytes: Buffer): Fields | undefined {
  // Strict: a wrong key almost never yields valid UTF-8, so garbage fails here rather than later.
  if (!isUtf8(bytes)) return undefined;
  let start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; // a UTF-8 BOM
  let end = bytes.length;
  while (end > start && isBlank(bytes[end - 1] as number)) end--;
  while (start < end && isBlank(bytes[start] as number)) start++;
  const text = bytes.toString('utf8', start, end);
  switch (text[0]) {
    case '<':
      return parseXml(text);
    case '{':
      return parseJson(text);
    case undefined:
      return undefined;
    default:
      return parseForm(text);
  }
}

/** Writes one token shape: the values, in the order of the names it was made for. */
export type PlaintextBuilder = (values: readonly string[]) => string;

/**
 * A writer for tokens with these fields, in `format`; `root` is the XML root element (JSON and
 * form-url have none). XML goes through a template that xml2js renders once with slots, so
 * each token is xml2js's bytes (its escaping included) without a document tree per token.
 *
 * @example plaintextBuilder('xml', 'SecurityToken', ['Context', 'AppId'])(['c', 'a'])
 * // '<SecurityToken><Context>c</Context><AppId>a</AppId></SecurityToken>'
 */
export function plaintextBuilder(format: Plaintext, root: string, names: readonly string[]): PlaintextBuilder {
  switch (format) {
    case 'xml':
      return xmlTemplate((slot) => ({ [root]: Object.fromEntries(names.map((name, i) => [name, slot(i)])) }));
    case 'json':
      return (values) => {
        const object: Record<string, string> = {};
        names.forEach((name, i) => (object[name] = values[i] as string));
        return JSON.stringify(object);
      };
    case 'form':
      return (values) => new URLSearchParams(names.map((name, i): [string, string] => [name, values[i] as string])).toString();
  }
}

/** One token's plaintext, for tests and one-off use (`plaintextBuilder` for many). */
export function buildPlaintext(format: Plaintext, root: string, fields: readonly (readonly [string, string])[]): string {
  return plaintextBuilder(format, root, fields.map(([name]) => name))(fields.map(([, value]) => value));
}
