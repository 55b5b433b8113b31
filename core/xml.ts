import { Builder } from 'xml2js';

// `allowEmpty` is an xmlbuilder render option that @types/xml2js does not list.
const builder = new Builder({ headless: true, renderOpts: { pretty: false, allowEmpty: true } as { pretty: boolean } });

/**
 * Renders a vendor XML reply with xml2js (escaping included); empty elements are written
 * `<Result></Result>`, as the vendors do.
 *
 * @example xml({ Response: { ResponseCode: 0, ResponseData: guid } })
 */
export function xml(document: Record<string, unknown>): string {
  return builder.buildObject(document);
}

// The escapes xmlbuilder applies to element text, so both paths give the same bytes.
const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' };
const SPECIALS = /[&<>\r]/g;
const SPECIAL = new RegExp(SPECIALS.source); // for test(): a global one would keep its lastIndex between calls
/** Tokens and codes have nothing to escape, so the text is tested before a replace is run over it. */
const escapeText = (text: string): string => (SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPES[c] as string) : text);
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
