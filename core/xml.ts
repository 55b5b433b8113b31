import { Builder } from 'xml2js';

// `allowEmpty` is an xmlbuilder render option that @types/xml2js does not list.
const builder = new Builder({ headless: true, renderOpts: { pretty: false, allowEmpty: true } as { pretty: boolean } });

/**
 * Characters XML 1.0 does not allow in a document (§2.2 `Char`): C0 controls but tab, LF and CR,
 * lone surrogates, U+FFFE and U+FFFF. A parser refuses the whole reply if one gets through, so
 * they are replaced before any text is written.
 */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
/** What a character XML cannot carry becomes: the Unicode replacement character. */
export const REPLACEMENT = '\uFFFD';

/**
 * `text` with every character XML 1.0 does not allow replaced by U+FFFD, so that caller text
 * quoted in a reply (`%01`, U+FFFE, half a surrogate pair) cannot make the reply unreadable.
 *
 * @example xmlSafe('a\u0001b') // 'a\uFFFDb'
 */
export function xmlSafe(text: string): string {
  return text.replace(NOT_XML_CHAR, REPLACEMENT);
}

/** Every string in a document tree through `xmlSafe` (xmlbuilder throws on such characters). */
function safeTree(value: unknown): unknown {
  if (typeof value === 'string') return xmlSafe(value);
  if (Array.isArray(value)) return value.map(safeTree);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, safeTree(v)]));
  return value;
}

/**
 * Renders a vendor XML reply with xml2js (escaping included); empty elements are written
 * `<Result></Result>`, as the vendors do. Characters XML does not allow become U+FFFD.
 *
 * @example xml({ Response: { ResponseCode: 0, ResponseData: guid } })
 */
export function xml(document: Record<string, unknown>): string {
  return builder.buildObject(safeTree(document));
}

// The escapes xmlbuilder applies to element text, so both paths give the same bytes; characters
// XML does not allow are replaced as `xmlSafe` does.
const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' };
const SPECIALS = new RegExp(`[&<>\\r]|${NOT_XML_CHAR.source}`, 'gu');
const SPECIAL = new RegExp(SPECIALS.source, 'u'); // for test(): a global one would keep its lastIndex between calls
/** Tokens and codes have nothing to escape, so the text is tested before a replace is run over it. */
const escapeText = (text: string): string => (SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPES[c] ?? REPLACEMENT) : text);
const SLOT = 'tokensmith-slot-';

/**
 * A reply shape rendered once by xml2js with numbered slots, then filled per request with
 * escaped text: the same bytes as `xml()`, without building a document tree for every reply.
 *
 * @example
 * const ok = xmlTemplate((slot) => ({ Response: { ResponseCode: 0, ResponseData: slot(0) } }));
 * ok([guid]) // '<Response><ResponseCode>0</ResponseCode><ResponseData>…</ResponseData></Response>'
 */
export function xmlTemplate(shape: (slot: (n: number) => string) => Record<string, unknown>): (values: readonly string[]) => string {
  const rendered = xml(shape((n) => `${SLOT}${n}.`));
  const parts = rendered.split(new RegExp(`${SLOT}(\\d+)\\.`));
  return (values) => {
    let out = parts[0] as string;
    for (let i = 1; i < parts.length; i += 2) out += escapeText(values[Number(parts[i])] ?? '') + (parts[i + 1] as string);
    return out;
  };
}
