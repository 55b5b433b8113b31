import { REPLACEMENT } from './xml.js';

/**
 * What would let a value change the shape of a one-line CSV reply, or make it unreadable:
 * control characters (CR and LF among them; NEL among the C1 controls), the Unicode line and
 * paragraph separators that line-splitting readers honour, lone surrogates and U+FFFE/U+FFFF.
 */
const NOT_CSV_TEXT = /[\p{Cc}\u2028\u2029\uFFFE\uFFFF]|\p{Cs}/gu;
const FIELD_SPECIALS = /[,"]/g;

/**
 * One unquoted CSV field made of caller-influenced text: a comma becomes `;` and a double quote
 * `'` (so that it can add no field and open no quoted one), and every character that could start
 * a line or that XML would refuse becomes U+FFFD. Vendor readers split on `,` without quoting
 * rules, so quoting the field would not help them.
 *
 * @example csvField('a,b\r\n2,"x"') // "a;b\uFFFD\uFFFD2;'x'"
 */
export function csvField(text: string): string {
  return text.replace(NOT_CSV_TEXT, REPLACEMENT).replace(FIELD_SPECIALS, (c) => (c === ',' ? ';' : "'"));
}
