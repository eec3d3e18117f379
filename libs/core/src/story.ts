import type { ResultRecord, TestDebug } from './records.js';

/**
 * One test's story for a person: what was sent, what came back, why it did not pass.
 * `capi-exec --trace` prints it while a run goes and `capi-merge --show` from a journal,
 * so both say the same thing the same way (lines like curl's and Hurl's verbose output:
 * `>` sent, `<` received, `*` capi's own words).
 */

/** Bytes of a response (and request) body a failed or error result keeps in `debug`. */
export const DEBUG_BODY_BYTES = 4096;
/** At most this many headers each way, each value cut to `DEBUG_HEADER_CHARS`. */
export const DEBUG_MAX_HEADERS = 100;
export const DEBUG_HEADER_CHARS = 1000;
/**
 * A request URL shown (`debug`, `--trace`, `capi-merge --show`) is cut at this many
 * characters: a captured value (a hostile server's answer) may make it any length.
 */
export const DEBUG_URL_CHARS = 4096;
/** An error message (it may quote such a URL) is cut at this many characters. */
export const DEBUG_MESSAGE_CHARS = DEBUG_URL_CHARS + 1024;

/** `text` cut at `max` characters, saying how long it was. */
export function cutText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

// Escapes and control bytes from a hostile server must not drive the reader's terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control bytes are what is made visible
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g;
const visible = (text: string) => text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

function bodyLines(prefix: string, body: string, bytes: number, cut: boolean): string[] {
  if (bytes === 0 && body === '') return [];
  const out = [prefix];
  for (const line of body.replace(/\r\n/g, '\n').split('\n')) out.push(`${prefix} ${visible(line)}`.trimEnd());
  if (cut) out.push(`* (body cut here: ${bytes} bytes in all)`);
  return out;
}

function requestLines(req: TestDebug['request']): string[] {
  const out = [`> ${req.method} ${visible(cutText(req.url, DEBUG_URL_CHARS))}`];
  for (const [k, v] of req.headers) out.push(`> ${visible(k)}: ${visible(v)}`);
  return out.concat(bodyLines('>', req.body ?? '', req.bodyBytes, req.bodyCut));
}

function responseLines(res: NonNullable<TestDebug['response']>): string[] {
  const out = [`< ${res.status}`];
  for (const [k, v] of res.headers) out.push(`< ${visible(k)}: ${visible(v)}`);
  return out.concat(bodyLines('<', res.body, res.bodyBytes, res.bodyCut));
}

/** Why the test ended as it did, one line per failed check or the error. */
function verdictLines(r: ResultRecord): string[] {
  if (r.status === 'error' && r.error)
    return [`* error ${visible(r.error.code)}: ${visible(cutText(r.error.message, DEBUG_MESSAGE_CHARS))}`];
  return r.failures.map((f) => `* failed ${f.check}: expected ${visible(f.expected)}, got ${visible(f.actual)}`);
}

/** The story as lines of text, ending with a newline. */
export function formatStory(r: ResultRecord, debug: TestDebug | null | undefined): string {
  const tries = r.attempts === 1 ? '1 attempt' : `${r.attempts} attempts`;
  const out = [`* ${visible(r.id)} ${visible(r.name)}: ${r.status} (${tries}, ${r.durationMs} ms, ${r.startedAt})`];
  if (!debug) out.push('* no request or response kept (a passed test, or a test that was never sent)');
  else {
    out.push(...requestLines(debug.request));
    if (debug.response) out.push(...responseLines(debug.response));
    else out.push('* no response');
  }
  out.push(...verdictLines(r));
  return `${out.join('\n')}\n`;
}
