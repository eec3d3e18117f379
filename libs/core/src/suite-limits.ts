import type { TestRecord } from './records.js';

/**
 * Limits on what one test may hold, checked when a suite is read (capi-split's CSV cells
 * and NDJSON records, capi-exec's NDJSON records, through validate.ts) so that capi-split
 * never writes a record capi-exec then refuses, and no check can take the process down.
 */

/** The longest NDJSON line any capi tool reads, in characters (a test record's line too). */
export const MAX_LINE_CHARS = 64 * 1024 * 1024;
/** `expect.json` nesting: deeper is bad input (real API answers nest a few dozen levels at most). */
export const MAX_JSON_DEPTH = 100;
/** `expect.json` text: longer is bad input. */
export const MAX_JSON_CHARS = 4 * 1024 * 1024;
/** A body regex (`/…/` in `expect.body`), flags included. */
export const MAX_REGEX_CHARS = 4096;

/**
 * How deep the arrays and objects of JSON text nest, counted without parsing (no
 * recursion, stops once past `limit`): brackets inside strings do not count.
 */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Why JSON text is over the limits (no field named), or null. */
export function jsonLimitProblem(text: string): string | null {
  if (text.length > MAX_JSON_CHARS) return `JSON of ${text.length} characters, more than the ${MAX_JSON_CHARS} allowed`;
  const depth = jsonDepth(text, MAX_JSON_DEPTH);
  if (depth > MAX_JSON_DEPTH) return `JSON nested more than ${MAX_JSON_DEPTH} levels deep`;
  return null;
}

/** Why a `/regex/` is over the limits, or null. */
export function regexLimitProblem(text: string): string | null {
  return text.length > MAX_REGEX_CHARS
    ? `regular expression of ${text.length} characters, more than the ${MAX_REGEX_CHARS} allowed`
    : null;
}

/** Room for what is added to a record after it is checked (`seq`). */
const SLACK = 64;

/**
 * Why a test record would be a line longer than MAX_LINE_CHARS, or null. Cheap for every
 * record: an escaped string is at most 6 times its length, so only a record within reach
 * of the limit is written out to be measured.
 */
export function recordLineProblem(record: TestRecord): string | null {
  // Runs for every row: no closure, no Object.entries arrays (0.3 s of 1,000,000 rows before).
  const { request, expect } = record;
  let chars =
    quoted(record.id) + quoted(record.name) + quoted(request.url) + quoted(request.body) + quoted(expect.body);
  chars += quoted(expect.json) + mapChars(request.headers) + mapChars(record.vars);
  for (const t of record.tags) chars += quoted(t);
  if (chars * 6 + 1024 < MAX_LINE_CHARS) return null;
  const length = JSON.stringify(record).length + SLACK;
  return length > MAX_LINE_CHARS
    ? `the test is ${length} characters as an NDJSON line, more than the ${MAX_LINE_CHARS} capi-exec reads`
    : null;
}

/** A string's length with its quotes (0 for none): the floor of what it takes in JSON. */
function quoted(s: string | null | undefined): number {
  return s ? s.length + 2 : 0;
}

/**
 * The keys and values of a map. for…in sees every own enumerable key that Object.entries
 * does (and inherited ones, which only make the estimate larger, never smaller).
 */
function mapChars(map: Record<string, string>): number {
  let n = 0;
  for (const key in map) n += quoted(key) + quoted(map[key]);
  return n;
}
