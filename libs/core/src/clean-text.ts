/**
 * The one rule for showing text a server, a suite or a journal controls (response bodies,
 * failure reasons, ids, names, log lines) to a person: in a terminal, a report, a CSV
 * cell opened in a spreadsheet or a page. Removed: ANSI/ECMA-48 sequences in their 7-bit
 * (ESC [ …, ESC ] … BEL, OSC 52 that writes the clipboard) and 8-bit forms (U+009B CSI,
 * U+009D OSC), every other C0 and C1 control and DEL, and the bidi embeddings, overrides
 * and isolates (U+202A–U+202E, U+2066–U+2069) that make text read other than it is.
 * docs/formats.md, "Text from outside".
 */

const SEQUENCE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what is removed
  /(?:\x1b\[|\u009b)[0-?]*[ -/]*[@-~]?|(?:\x1b[\]PX^_]|[\u009d\u0090\u0098\u009e\u009f])[^\x07\x1b\u009c]*(?:\x07|\x1b\\|\u009c)?|\x1b[ -/]*[0-~]?/g;
/** C0 controls but tab and newline, DEL, C1 controls, bidi controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Any character the rules below act on: every escape sequence starts with one (ESC or a
 * C1 control), and so does a line break to normalize (CR). Text with none of them (nearly
 * all of it) is returned as it is, without running the three replacements: capi-merge
 * cleans some ten cells a test.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const ANY_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Text with escape sequences and control characters removed; tabs and newlines kept. */
export function cleanText(text: unknown): string {
  const s = String(text ?? '');
  if (!ANY_CONTROL.test(s)) return s;
  return s.replace(SEQUENCE, '').replace(/\r\n?/g, '\n').replace(CONTROL, '');
}

/** `cleanText` on one line: tabs and line breaks become one space. */
export function plainLine(text: unknown): string {
  return String(text ?? '')
    .replace(SEQUENCE, '')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(CONTROL, '');
}
