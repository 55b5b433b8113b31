import { parseStringPromise } from 'xml2js';

/**
 * XML 1.0 §2.2: the characters a document may hold. sax (under xml2js) does not check them,
 * but other parsers (.NET, libxml2, browsers) refuse a document with any other, so a reply is
 * only well-formed when it parses strictly *and* holds none.
 */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Parses `text` as XML with xml2js in strict mode after checking its characters; throws what is wrong. */
export async function readXml(text: string): Promise<unknown> {
  const bad = NOT_XML_CHAR.exec(text);
  if (bad) throw new Error(`character U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML 1.0`);
  return parseStringPromise(text, { strict: true });
}

/** Electa's CSV reply: one line, `code,description`, the description without a comma, quote or control character. */
export const ELECTA_CSV = /^[0-9]+,[^,"\r\n\u0085\u2028\u2029\p{Cc}]*$/u;
