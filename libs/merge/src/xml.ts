import { cleanText } from './clean-text.js';

/**
 * Characters XML 1.0 forbids (NUL, other C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone
 * surrogates) cannot appear even escaped, so they are dropped; core's `cleanText` goes first
 * (escape sequences whole, C1 and bidi controls), so that no `[31m` debris is left behind.
 */
const FORBIDDEN = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * Text that no rule below changes: printable ASCII without `&`, `<`, `>` (and `"` in an
 * attribute). Nearly every id, name, batch and time is such text, and is returned as it is
 * without the cleaning and the five or six replacements (a JUnit report of a million
 * tests escapes some three million values).
 */
const PLAIN_TEXT = /^[\t\n\x20-\x25\x27-\x3b\x3d\x3f-\x7e]*$/;
const PLAIN_ATTR = /^[\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x7e]*$/;

export function xmlText(text: string): string {
  if (PLAIN_TEXT.test(text)) return text;
  return cleanText(text).replace(FORBIDDEN, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values also escape quotes, and keep newlines and tabs as character references. */
export function xmlAttr(text: string): string {
  if (PLAIN_ATTR.test(text)) return text;
  return xmlText(text).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}
