/** ANSI escape sequences (colours, cursor moves) that response data may carry. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is what an ANSI sequence starts with
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
/** Control characters other than tab and newline. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control bytes is the point
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** Text safe to print in a plain report: no escapes, no control bytes, one line. */
export function plainLine(text: string): string {
  return String(text)
    .replace(ANSI, '')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(CONTROL, '');
}

export function stripAnsi(text: string): string {
  return String(text).replace(ANSI, '');
}
