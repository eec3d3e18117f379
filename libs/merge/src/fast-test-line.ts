import { at, NULL, plain, sameRange, tagCoder, tagList } from './fast-line.js';
import type { MergeState } from './merge-state.js';
import { put, SEP } from './row-text.js';
import { FLAG_HAS_NAME, STATUS_CODE } from './test-table.js';

/**
 * A run folder's batch lines of the shape capi-split writes itself (libs/split
 * serialize.ts), read from their bytes: no string, no object and no validation per line
 * for the ids a merge expects. A launched run's merge reads a test record for every
 * result, and JSON.parse and validateTestRecord of each were half of its reading. Every
 * other line goes the way it went (JSON.parse, validateTestRecord, addExpected), and so
 * does a line whose id the table already has (addExpected's rarer branches).
 *
 * The shape, on one line with nothing between the tokens:
 * `{"id":S,"name":S,"seq":U,"request":{"method":M,"url":S,"headers":{},"body":null},
 * "expect":{"status":C,"body":null,"json":null,"maxMs":null|U},"timeoutMs":null|U,
 * "tags":[S,…],"enabled":true|false,"vars":{},"source":{"file":F,"line":null|U}|null}`.
 * S: a string of printable ASCII, no quote or backslash (so no escape); id and url with a
 * character other than a space (validate.ts isText). M: one of core's HTTP_METHODS as it
 * is written (upper case). C: one status part as statusValue takes it (`200`, `2xx`, lower
 * case). U: an integer of 1-15 digits, no leading zero (a safe integer >= 0). F: any
 * bytes but a control character, quote or backslash (the source is not read). Every line
 * this takes is one JSON.parse and validateTestRecord accept, and what it folds is what
 * addExpected folds for the values expectedOf gives (fast-test-line.test.ts compares both
 * ways on odd lines).
 */

/** core's HTTP_METHODS as capi-split writes them (a test holds every one to validateTestRecord). */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];
const HTTP_METHOD_WORDS = METHODS.map((m) => Buffer.from(`${m}"`));

const K_ID = Buffer.from('{"id":"');
const K_NAME = Buffer.from(',"name":"');
const K_SEQ = Buffer.from(',"seq":');
const K_METHOD = Buffer.from(',"request":{"method":"');
const K_URL = Buffer.from(',"url":"');
const K_STATUS = Buffer.from(',"headers":{},"body":null},"expect":{"status":"');
const K_MAX = Buffer.from(',"body":null,"json":null,"maxMs":');
const K_TIMEOUT = Buffer.from('},"timeoutMs":');
const K_TAGS = Buffer.from(',"tags":[');
const K_ENABLED = Buffer.from(',"enabled":');
const K_TRUE = Buffer.from('true');
const K_FALSE = Buffer.from('false');
const K_SOURCE = Buffer.from(',"vars":{},"source":');
const K_FILE = Buffer.from('{"file":"');
const K_LINE = Buffer.from(',"line":');

// Where the scanned line's parts are (offsets into its buffer), and its values.
let idS = 0;
let idE = 0;
let nameS = 0;
let nameE = 0;
let tagsS = 0;
let tagsE = 0;
let enabled = true;

/** The end of an integer of 1-15 digits at p without a leading zero, or -1. */
function whole(src: Uint8Array, p: number, limit: number): number {
  let q = p;
  while (q < limit && (src[q] as number) >= 48 && (src[q] as number) <= 57) q++;
  if (q === p || q - p > 15 || (src[p] === 48 && q - p > 1)) return -1;
  return q;
}

/** `null` or whole() at p: the end, or -1. */
function wholeOrNull(src: Uint8Array, p: number, limit: number): number {
  return at(src, p, limit, NULL) ? p + 4 : whole(src, p, limit);
}

/** Whether src[s, e) holds a byte other than a space (with plain()'s bytes: what trim() keeps). */
function notBlank(src: Uint8Array, s: number, e: number): boolean {
  for (let k = s; k < e; k++) if (src[k] !== 0x20) return true;
  return false;
}

/** The closing quote of a string of any bytes but controls, quote and backslash, starting at p; or -1. */
function anyText(src: Uint8Array, p: number, limit: number): number {
  for (; p < limit; p++) {
    const c = src[p] as number;
    if (c === 0x22) return p;
    if (c < 0x20 || c === 0x5c) return -1;
  }
  return -1;
}

/**
 * Reads the line at src[p…] up to its newline (before `limit`) if it has the shape above;
 * returns the newline's position, or -1 (the line goes the usual way).
 */
export function scanTestLine(src: Uint8Array, p: number, limit: number): number {
  if (!at(src, p, limit, K_ID)) return -1;
  idS = p + K_ID.length;
  idE = plain(src, idS, limit);
  if (idE <= idS || !notBlank(src, idS, idE) || !at(src, idE + 1, limit, K_NAME)) return -1;
  nameS = idE + 1 + K_NAME.length;
  nameE = plain(src, nameS, limit);
  if (nameE < 0 || !at(src, nameE + 1, limit, K_SEQ)) return -1;
  let q = whole(src, nameE + 1 + K_SEQ.length, limit);
  if (q < 0 || !at(src, q, limit, K_METHOD)) return -1;
  q += K_METHOD.length;
  let m = 0;
  while (m < HTTP_METHOD_WORDS.length && !at(src, q, limit, HTTP_METHOD_WORDS[m] as Uint8Array)) m++;
  if (m === HTTP_METHOD_WORDS.length) return -1;
  q += (HTTP_METHOD_WORDS[m] as Uint8Array).length;
  if (!at(src, q, limit, K_URL)) return -1;
  const urlS = q + K_URL.length;
  q = plain(src, urlS, limit);
  if (q < 0 || !notBlank(src, urlS, q) || !at(src, q + 1, limit, K_STATUS)) return -1;
  q += 1 + K_STATUS.length;
  // statusValue's one plain part, in lower case: [1-5]dd or [1-5]xx
  if (q + 4 > limit || src[q + 3] !== 0x22) return -1;
  const c0 = src[q] as number;
  const c1 = src[q + 1] as number;
  const c2 = src[q + 2] as number;
  if (c0 < 0x31 || c0 > 0x35) return -1;
  const digits = c1 >= 0x30 && c1 <= 0x39 && c2 >= 0x30 && c2 <= 0x39;
  if (!digits && !(c1 === 0x78 && c2 === 0x78)) return -1;
  q += 4;
  if (!at(src, q, limit, K_MAX)) return -1;
  q = wholeOrNull(src, q + K_MAX.length, limit);
  if (q < 0 || !at(src, q, limit, K_TIMEOUT)) return -1;
  q = wholeOrNull(src, q + K_TIMEOUT.length, limit);
  if (q < 0 || !at(src, q, limit, K_TAGS)) return -1;
  tagsS = q + K_TAGS.length - 1;
  q = tagList(src, tagsS, limit);
  if (q < 0) return -1;
  tagsE = q;
  if (!at(src, q, limit, K_ENABLED)) return -1;
  q += K_ENABLED.length;
  if (at(src, q, limit, K_TRUE)) {
    enabled = true;
    q += 4;
  } else if (at(src, q, limit, K_FALSE)) {
    enabled = false;
    q += 5;
  } else return -1;
  if (!at(src, q, limit, K_SOURCE)) return -1;
  q += K_SOURCE.length;
  if (at(src, q, limit, NULL)) q += 4;
  else {
    if (!at(src, q, limit, K_FILE)) return -1;
    q = anyText(src, q + K_FILE.length, limit);
    if (q < 0 || !at(src, q + 1, limit, K_LINE)) return -1;
    q = wholeOrNull(src, q + 1 + K_LINE.length, limit);
    if (q < 0 || src[q] !== 0x7d) return -1;
    q++;
  }
  if (q + 1 >= limit || src[q] !== 0x7d || src[q + 1] !== 0x0a) return -1;
  return q + 1;
}

const tagsCode = tagCoder();

const SEP_BYTE = SEP.charCodeAt(0);
const SHORT_HEAD = Buffer.from('{"name":"');
const SHORT_MID = Buffer.from('","attempts":');
const FLAKY_HEAD = Buffer.from(',"flaky":');

/**
 * Folds the line scanTestLine just read into the state as addExpected folds a new id of
 * batch `batch` (its pool code from `batchCode`, asked for only when a row is added);
 * false, with nothing changed, when the table has the id already (the line then goes the
 * usual way).
 */
export function foldTestLine(state: MergeState, src: Uint8Array, batchCode: () => number): boolean {
  const table = state.tests;
  if (table.indexOfBytes(src, idS, idE) >= 0) return false;
  state.expected++;
  const i = table.addBytes(src, idS, idE);
  table.setTags(i, tagsCode(table, src, tagsS, tagsE));
  table.setBatch(i, batchCode());
  // flowPool.code(null) is 0, as the row already holds
  table.setFlow(i, 0);
  table.status[i] = enabled ? STATUS_CODE.missing : STATUS_CODE.skipped;
  // `name || id`: an empty name is the id
  const named = nameE > nameS && !sameRange(src, nameS, nameE, idS, idE);
  table.flags[i] = named ? FLAG_HAS_NAME : 0;
  if (named) {
    // setPending's renderName: {"name":…,"attempts":SEP,"flaky":SEP
    const spool = table.spool;
    const d0 = spool.beginEntry(nameE - nameS + 40);
    const out = spool.entryBuffer();
    let d = put(SHORT_HEAD, out, d0);
    for (let k = nameS; k < nameE; k++) out[d++] = src[k] as number;
    d = put(SHORT_MID, out, d);
    out[d++] = SEP_BYTE;
    d = put(FLAKY_HEAD, out, d);
    out[d++] = SEP_BYTE;
    table.text[i] = spool.endEntry(d);
  } else table.text[i] = 0;
  table.pending[i] = 1;
  return true;
}
