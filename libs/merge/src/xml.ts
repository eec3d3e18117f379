import { cleanText } from './clean-text.js';

/**
 * Characters XML 1.0 forbids (NUL, other C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone
 * surrogates) cannot appear even escaped, so they are dropped; core's `cleanText` goes first
 * (escape sequences whole, C1 and bidi controls), so that no `[31m` debris is left behind.
 */
const FORBIDDEN = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function xmlText(text: string): string {
  return cleanText(text).replace(FORBIDDEN, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values also escape quotes, and keep newlines and tabs as character references. */
export function xmlAttr(text: string): string {
  return xmlText(text).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}
