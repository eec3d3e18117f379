import { civilMs } from './iso-time.js';
import { type MergeState, PRE_SEND } from './merge-state.js';
import { errorText, failureText, type MergedTest } from './merged-test.js';
import { copyBytes, csvField, neutralize, type Pieces, put, SEP } from './row-text.js';
import {
  FLAG_BAD,
  FLAG_FLAKY,
  FLAG_HAS_NAME,
  FLAG_HAS_RUN,
  FLAG_HAS_SHARD,
  FLAG_STOPPED,
  FLAG_UNSENT,
  STATUS_CODE,
  type TestTable,
} from './test-table.js';

/**
 * Result lines of the shape capi-exec writes itself (libs/exec `resultJson`), read from
 * their bytes: no string per line, no object per record, and the report text copied from
 * the line where it is the record's own text. Most result lines of a run are of this
 * shape; every other line goes the way it went before (JSON.parse, validateResultRecord,
 * addResult), and so does one that fits but would borrow a field from its row's text.
 *
 * The shape, on one line with nothing between the tokens:
 * `{"id":S,"name":S,"status":"passed|failed|error|skipped","attempts":U,"startedAt":ISO,
 * "durationMs":N,"response":null|{"status":U,"bytes":U},"failures":[F,…],"error":null|E,
 * "batch":S|null,"worker":U|null,"runId":S|null,"tags":[S,…],"shard":S|null}`, or the
 * same with `,"fp":S` before the closing brace (a journal). S: a string of printable
 * ASCII, no quote or backslash (so no escape), id and name not empty. F (a failed check,
 * up to 16): `{"check":C,"expected":C,"actual":C}`; E: `{"code":C,"message":C}`, exactly
 * those keys in that order, as capi-exec writes them; C: any string as JSON.stringify
 * writes it (escapes, well-formed UTF-8: `canonical`), so the bytes are what the slow
 * path's JSON.stringify of the parsed value writes, and the CSV's failure and error cells
 * come from the values by the slow path's own functions. U: an integer of
 * 1-9 digits, no leading zero. ISO: toISOString's form of a real date. N: a number as
 * JSON.stringify writes it (no sign, no exponent). Every line this takes is one
 * JSON.parse and validateResultRecord accept, with the values addResult would read, and
 * the text it stores is byte for byte what renderRow renders for them (fast-line.test.ts
 * compares both ways on odd lines).
 */

// Where the scanned line's parts are (offsets into its buffer), and its values.
let idS = 0;
let idE = 0;
let nameS = 0;
let nameE = 0;
let status = 0;
let attemptsS = 0;
let attemptsE = 0;
let attempts = 0;
let startS = 0;
let startMs = 0;
let durS = 0;
let durE = 0;
let duration = 0;
/** The duration's digits are also what the CSV cell shows (Number(d.toFixed(3))'s text). */
let durCsvRaw = false;
/** Else its CSV text, when worked out from the digits (null: from the value). */
let durCsv: string | null = null;
let responseNull = false;
let httpS = 0;
let httpE = 0;
/** After `"error":null,"batch":` (where the batch's value starts). */
let errorEnd = 0;
let batchS = 0;
let batchE = 0; // batchS < 0: null
/** `,"worker":` to the shard's end: copied as it is. */
let workerS = 0;
let workerNull = false;
let runIdNull = false;
let tagsS = 0;
let tagsE = 0;
let shardNull = false;
let shardE = 0;

const STATUS_WORDS = ['passed', 'failed', 'error', 'skipped'].map((w) => Buffer.from(`${w}"`));
const STATUS_CODES = [STATUS_CODE.passed, STATUS_CODE.failed, STATUS_CODE.error, STATUS_CODE.skipped];

const K_ID = Buffer.from('{"id":"');
const K_NAME = Buffer.from(',"name":"');
const K_STATUS = Buffer.from(',"status":"');
const K_ATTEMPTS = Buffer.from(',"attempts":');
const K_STARTED = Buffer.from(',"startedAt":"');
const K_DURATION = Buffer.from(',"durationMs":');
const K_RESPONSE = Buffer.from(',"response":');
const K_RESP_STATUS = Buffer.from('{"status":');
const K_RESP_BYTES = Buffer.from(',"bytes":');
const K_NO_FAILURE = Buffer.from(',"failures":[],"error":null,"batch":');
const K_FAILURES = Buffer.from(',"failures":[');
const K_CHECK = Buffer.from('{"check":"');
const K_EXPECTED = Buffer.from('","expected":"');
const K_ACTUAL = Buffer.from('","actual":"');
const K_ERROR = Buffer.from(',"error":');
const K_CODE = Buffer.from('{"code":"');
const K_MESSAGE = Buffer.from('","message":"');
const K_BATCH = Buffer.from(',"batch":');
const K_WORKER = Buffer.from(',"worker":');
const K_RUNID = Buffer.from(',"runId":');
const K_TAGS = Buffer.from(',"tags":[');
const K_SHARD = Buffer.from(',"shard":');
const K_FP = Buffer.from(',"fp":"');
export const NULL = Buffer.from('null');

/** Whether src holds word at p. */
export function at(src: Uint8Array, p: number, limit: number, word: Uint8Array): boolean {
  const n = word.length;
  if (p + n > limit) return false;
  for (let k = 0; k < n; k++) if (src[p + k] !== word[k]) return false;
  return true;
}

/** The closing quote of a plain string whose characters start at p (printable ASCII, no `"` or `\`), or -1. */
export function plain(src: Uint8Array, p: number, limit: number): number {
  for (; p < limit; p++) {
    const c = src[p] as number;
    if (c === 0x22) return p;
    if (c < 0x20 || c > 0x7e || c === 0x5c) return -1;
  }
  return -1;
}

// The value of the last uint read.
let uint = 0;

/** The end of an integer of 1-9 digits at p without a leading zero (its value in `uint`), or -1. */
function unsigned(src: Uint8Array, p: number, limit: number): number {
  const first = (src[p] as number) - 48;
  if (p >= limit || first < 0 || first > 9) return -1;
  let v = first;
  let q = p + 1;
  for (; q < limit; q++) {
    const d = (src[q] as number) - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  if (q - p > 9 || (first === 0 && q - p > 1)) return -1;
  uint = v;
  return q;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * The end of a JSON number at p as JSON.stringify writes it (no sign, no exponent, no
 * trailing zero, no leading zero), its value in `duration`, or -1. Up to 15 significant
 * digits the value is the digits as an integer divided by a power of ten (both exact:
 * the one rounding is the decimal's); beyond, Number() reads it and its text must come back.
 */
function number(src: Uint8Array, p: number, limit: number): number {
  let q = p;
  let n = 0;
  let digits = 0;
  while (q < limit) {
    const d = (src[q] as number) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
    q++;
  }
  const intDigits = q - p;
  if (intDigits === 0 || (src[p] === 48 && intDigits > 1)) return -1;
  digits = src[p] === 48 ? 0 : intDigits;
  let frac = 0;
  let leadingZeros = 0;
  if (q < limit && src[q] === 0x2e) {
    q++;
    const f = q;
    while (q < limit) {
      const d = (src[q] as number) - 48;
      if (d < 0 || d > 9) break;
      if (digits === 0 && d === 0) leadingZeros++;
      else digits++;
      n = n * 10 + d;
      q++;
    }
    frac = q - f;
    if (frac === 0 || src[q - 1] === 48) return -1;
  }
  const c = src[q];
  if (c === 0x65 || c === 0x45) return -1; // an exponent
  if (digits + leadingZeros <= 15 && (intDigits > 1 || src[p] !== 48 || leadingZeros <= 5)) {
    duration = n / (POW10[frac] as number);
    durCsvRaw = frac <= 3 && intDigits <= 12;
    durCsv = null;
    return q;
  }
  const text = (src as Buffer).toString('latin1', p, q);
  const v = Number(text);
  if (String(v) !== text) return -1;
  duration = v;
  durCsvRaw = false;
  durCsv = intDigits <= 11 ? roundedText(src, p, intDigits) : null;
  return q;
}

/**
 * The CSV's duration, String(Number(v.toFixed(3))), from the digits of v's shortest text
 * (16 or more significant digits, at most 11 before the point), rounded half up at the
 * third decimal. It is toFixed's rounding of v itself: a boundary m.mmm5 between v and
 * its text would read back as v with at most 15 digits, and the text is the shortest
 * that does, so none is; and no such text ends in 5 with nothing after it.
 */
function roundedText(src: Uint8Array, p: number, intDigits: number): string {
  let whole = 0;
  for (let k = 0; k < intDigits; k++) whole = whole * 10 + ((src[p + k] as number) - 48);
  const f = p + intDigits + 1; // the digits after the point (16 significant digits leave at least 5)
  let milli = ((src[f] as number) - 48) * 100 + ((src[f + 1] as number) - 48) * 10 + ((src[f + 2] as number) - 48);
  if ((src[f + 3] as number) >= 53) milli++;
  if (milli === 1000) {
    whole++;
    milli = 0;
  }
  if (milli === 0) return String(whole);
  let frac = milli < 10 ? `00${milli}` : milli < 100 ? `0${milli}` : String(milli);
  while (frac.charCodeAt(frac.length - 1) === 48) frac = frac.slice(0, -1);
  return `${whole}.${frac}`;
}

/** For tests: what the line's durationMs text gives (its value and CSV text), or null when scanLine would not take it. */
export function scanDuration(text: string): { value: number; csv: string } | null {
  const b = Buffer.from(`${text},`);
  if (number(b, 0, b.length) !== text.length) return null;
  const csv = durCsvRaw ? text : (durCsv ?? String(Number(duration.toFixed(3))));
  return { value: duration, csv };
}

/** toISOString's form at p (24 characters and the closing quote), its time in `startMs`; else false. */
function iso(src: Uint8Array, p: number, limit: number): boolean {
  if (p + 25 > limit || src[p + 24] !== 0x22) return false;
  if (src[p + 4] !== 45 || src[p + 7] !== 45 || src[p + 10] !== 84) return false;
  if (src[p + 13] !== 58 || src[p + 16] !== 58 || src[p + 19] !== 46 || src[p + 23] !== 90) return false;
  const y = two(src, p) * 100 + two(src, p + 2);
  const m = two(src, p + 5);
  const day = two(src, p + 8);
  const h = two(src, p + 11);
  const mi = two(src, p + 14);
  const sec = two(src, p + 17);
  const ms3 = (src[p + 22] as number) - 48;
  const ms = two(src, p + 20) * 10 + ms3;
  if (y < 0 || ms < 0 || ms3 < 0 || ms3 > 9 || m < 1 || m > 12 || day < 1 || h < 0 || h > 23) return false;
  if (mi < 0 || mi > 59 || sec < 0 || sec > 59 || day > daysIn(y, m)) return false;
  startMs = civilMs(y, m, day, h, mi, sec, ms);
  return true;
}

function two(src: Uint8Array, p: number): number {
  const a = (src[p] as number) - 48;
  const b = (src[p + 1] as number) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -10000;
}

function daysIn(y: number, m: number): number {
  if (m !== 2) return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
}

// A failed or errored line's failures and error (capi-exec's exact shapes), as string ranges.
/** How many failures the line lists (at most MAX_FAILURES; more go the usual way). */
let failureCount = 0;
const MAX_FAILURES = 16;
/** Per failure: check, expected, actual, each as [start, end) with its form (strForm). */
const failureAt = new Int32Array(MAX_FAILURES * 6);
const failureForm = new Uint8Array(MAX_FAILURES * 3);
/** The error's code and message ([start, end), codeS < 0: null) and their forms. */
let codeS = -1;
let codeE = 0;
let codeForm = 0;
let messageS = 0;
let messageE = 0;
let messageForm = 0;

/** The form of the last string `canonical` read: 0 printable ASCII only (its latin1 text is the value), 1 else. */
let strForm = 0;

/** A hex digit as JSON.stringify writes one (lowercase), its value; else -1. */
function hexLower(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  return c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
}

/**
 * The closing quote of a string whose characters start at p, written as JSON.stringify
 * writes it (so that the bytes, parsed and written again, are the same bytes), or -1:
 * printable ASCII and DEL as they are; `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`; `\u00xx`
 * (lowercase hex) for the other control characters only; anything else as well-formed
 * UTF-8 (no overlong form, no surrogate: JSON.stringify writes a lone one as `\udxxx`,
 * taken nowhere here). Its form in `strForm`.
 */
export function canonical(src: Uint8Array, p: number, limit: number): number {
  strForm = 0;
  while (p < limit) {
    const c = src[p] as number;
    if (c === 0x22) return p;
    if (c >= 0x20 && c < 0x7f && c !== 0x5c) {
      p++;
      continue;
    }
    strForm = 1;
    if (c === 0x7f) p++;
    else if (c === 0x5c) {
      if (p + 1 >= limit) return -1;
      const e = src[p + 1] as number;
      if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) p += 2;
      else if (e === 0x75 && p + 5 < limit && src[p + 2] === 48 && src[p + 3] === 48) {
        const h = hexLower(src[p + 4] as number);
        const l = hexLower(src[p + 5] as number);
        const v = h * 16 + l;
        if (h < 0 || h > 1 || l < 0 || v === 8 || v === 9 || v === 10 || v === 12 || v === 13) return -1;
        p += 6;
      } else return -1;
    } else if (c < 0x20) return -1;
    else if (c >= 0xc2 && c <= 0xdf) {
      if (p + 1 >= limit || !cont(src[p + 1] as number)) return -1;
      p += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      if (p + 2 >= limit) return -1;
      const c1 = src[p + 1] as number;
      // E0: no overlong form (A0-BF); ED: no surrogate (80-9F)
      if (c === 0xe0 ? c1 < 0xa0 || c1 > 0xbf : c === 0xed ? c1 < 0x80 || c1 > 0x9f : !cont(c1)) return -1;
      if (!cont(src[p + 2] as number)) return -1;
      p += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      if (p + 3 >= limit) return -1;
      const c1 = src[p + 1] as number;
      // F0: no overlong form (90-BF); F4: nothing past U+10FFFF (80-8F)
      if (c === 0xf0 ? c1 < 0x90 || c1 > 0xbf : c === 0xf4 ? c1 < 0x80 || c1 > 0x8f : !cont(c1)) return -1;
      if (!cont(src[p + 2] as number) || !cont(src[p + 3] as number)) return -1;
      p += 4;
    } else return -1;
  }
  return -1;
}

const cont = (c: number): boolean => c >= 0x80 && c <= 0xbf;

/**
 * The failures after `,"failures":[` at p (src[p - 1] is the `[`): `]`, or capi-exec's
 * `{"check":S,"expected":S,"actual":S}` objects (exactly those keys, in that order, S as
 * `canonical` takes them) joined by commas, then `]`. The index after the `]`, or -1.
 */
function failureList(src: Uint8Array, p: number, limit: number): number {
  failureCount = 0;
  if (src[p] === 0x5d) return p + 1;
  for (;;) {
    if (failureCount === MAX_FAILURES || !at(src, p, limit, K_CHECK)) return -1;
    const k = failureCount * 6;
    const f = failureCount * 3;
    let s = p + K_CHECK.length;
    let e = canonical(src, s, limit);
    if (e < 0 || !at(src, e, limit, K_EXPECTED)) return -1;
    failureAt[k] = s;
    failureAt[k + 1] = e;
    failureForm[f] = strForm;
    s = e + K_EXPECTED.length;
    e = canonical(src, s, limit);
    if (e < 0 || !at(src, e, limit, K_ACTUAL)) return -1;
    failureAt[k + 2] = s;
    failureAt[k + 3] = e;
    failureForm[f + 1] = strForm;
    s = e + K_ACTUAL.length;
    e = canonical(src, s, limit);
    if (e < 0 || src[e + 1] !== 0x7d) return -1;
    failureAt[k + 4] = s;
    failureAt[k + 5] = e;
    failureForm[f + 2] = strForm;
    failureCount++;
    const c = src[e + 2];
    p = e + 3;
    if (c === 0x5d) return p;
    if (c !== 0x2c) return -1;
  }
}

/** `null` or capi-exec's `{"code":S,"message":S}` at p: the index after it, or -1. */
function errorObject(src: Uint8Array, p: number, limit: number): number {
  if (at(src, p, limit, NULL)) {
    codeS = -1;
    return p + 4;
  }
  if (!at(src, p, limit, K_CODE)) return -1;
  const s = p + K_CODE.length;
  const e = canonical(src, s, limit);
  if (e < 0 || !at(src, e, limit, K_MESSAGE)) return -1;
  codeS = s;
  codeE = e;
  codeForm = strForm;
  messageS = e + K_MESSAGE.length;
  messageE = canonical(src, messageS, limit);
  if (messageE < 0 || src[messageE + 1] !== 0x7d) return -1;
  messageForm = strForm;
  return messageE + 2;
}

/** The value of a string `canonical` took at src[s, e). */
function stringAt(src: Uint8Array, s: number, e: number, form: number): string {
  return form === 0
    ? (src as Buffer).toString('latin1', s, e)
    : (JSON.parse((src as Buffer).toString('utf8', s - 1, e + 1)) as string);
}

/** `null` or a plain string at p: the end (after the quote), or -1; `nullAt` tells which. */
let wasNull = false;
function stringOrNull(src: Uint8Array, p: number, limit: number): number {
  if (at(src, p, limit, NULL)) {
    wasNull = true;
    return p + 4;
  }
  wasNull = false;
  if (src[p] !== 0x22) return -1;
  const q = plain(src, p + 1, limit);
  return q < 0 ? -1 : q + 1;
}

/**
 * Reads the line at src[p…] up to its newline (before `limit`) if it has the shape above;
 * returns the newline's position, or -1 (the line goes the usual way).
 */
export function scanLine(src: Uint8Array, p: number, limit: number): number {
  if (!at(src, p, limit, K_ID)) return -1;
  idS = p + K_ID.length;
  idE = plain(src, idS, limit);
  if (idE <= idS || !at(src, idE + 1, limit, K_NAME)) return -1;
  nameS = idE + 1 + K_NAME.length;
  nameE = plain(src, nameS, limit);
  if (nameE <= nameS || !at(src, nameE + 1, limit, K_STATUS)) return -1;
  let q = nameE + 1 + K_STATUS.length;
  let s = 0;
  while (s < 4 && !at(src, q, limit, STATUS_WORDS[s] as Uint8Array)) s++;
  if (s === 4) return -1;
  status = STATUS_CODES[s] as number;
  q += (STATUS_WORDS[s] as Uint8Array).length;
  if (!at(src, q, limit, K_ATTEMPTS)) return -1;
  attemptsS = q + K_ATTEMPTS.length;
  attemptsE = unsigned(src, attemptsS, limit);
  if (attemptsE < 0) return -1;
  attempts = uint;
  if (!at(src, attemptsE, limit, K_STARTED)) return -1;
  startS = attemptsE + K_STARTED.length;
  if (!iso(src, startS, limit)) return -1;
  q = startS + 25;
  if (!at(src, q, limit, K_DURATION)) return -1;
  durS = q + K_DURATION.length;
  durE = number(src, durS, limit);
  if (durE < 0 || !at(src, durE, limit, K_RESPONSE)) return -1;
  q = durE + K_RESPONSE.length;
  if (at(src, q, limit, NULL)) {
    responseNull = true;
    q += 4;
  } else {
    responseNull = false;
    if (!at(src, q, limit, K_RESP_STATUS)) return -1;
    httpS = q + K_RESP_STATUS.length;
    httpE = unsigned(src, httpS, limit);
    if (httpE < 0 || !at(src, httpE, limit, K_RESP_BYTES)) return -1;
    q = unsigned(src, httpE + K_RESP_BYTES.length, limit);
    if (q < 0 || src[q] !== 0x7d) return -1;
    q++;
  }
  if (at(src, q, limit, K_NO_FAILURE)) {
    failureCount = 0;
    codeS = -1;
    errorEnd = q + K_NO_FAILURE.length;
  } else {
    // A failed or errored line: its failures and error as capi-exec writes them.
    if (!at(src, q, limit, K_FAILURES)) return -1;
    q = failureList(src, q + K_FAILURES.length, limit);
    if (q < 0 || !at(src, q, limit, K_ERROR)) return -1;
    q = errorObject(src, q + K_ERROR.length, limit);
    if (q < 0 || !at(src, q, limit, K_BATCH)) return -1;
    errorEnd = q + K_BATCH.length;
  }
  batchS = errorEnd;
  batchE = stringOrNull(src, batchS, limit);
  if (batchE < 0) return -1;
  if (wasNull) batchS = -1;
  if (!at(src, batchE, limit, K_WORKER)) return -1;
  workerS = batchE;
  q = batchE + K_WORKER.length;
  if (at(src, q, limit, NULL)) {
    workerNull = true;
    q += 4;
  } else {
    workerNull = false;
    q = unsigned(src, q, limit);
    if (q < 0) return -1;
  }
  if (!at(src, q, limit, K_RUNID)) return -1;
  q = stringOrNull(src, q + K_RUNID.length, limit);
  if (q < 0) return -1;
  runIdNull = wasNull;
  if (!at(src, q, limit, K_TAGS)) return -1;
  tagsS = q + K_TAGS.length - 1;
  q = tagList(src, tagsS, limit);
  if (q < 0) return -1;
  tagsE = q;
  if (!at(src, q, limit, K_SHARD)) return -1;
  shardE = stringOrNull(src, q + K_SHARD.length, limit);
  if (shardE < 0) return -1;
  shardNull = wasNull;
  q = shardE;
  if (at(src, q, limit, K_FP)) {
    q = plain(src, q + K_FP.length, limit);
    if (q < 0) return -1;
    q++;
  }
  if (q + 1 >= limit || src[q] !== 0x7d || src[q + 1] !== 0x0a) return -1;
  return q + 1;
}

// The batch read last, as bytes, with its code: neighbouring lines repeat it.
let lastBatch = Buffer.alloc(0);
let lastBatchCode = -1;
let lastBatchPool: unknown = null;

export function same(src: Uint8Array, s: number, e: number, b: Buffer): boolean {
  if (e - s !== b.length) return false;
  for (let k = 0; k < b.length; k++) if (src[s + k] !== b[k]) return false;
  return true;
}

export function sameRange(src: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (let k = 0; k < aEnd - a; k++) if (src[a + k] !== src[b + k]) return false;
  return true;
}

function batchCode(table: TestTable, src: Uint8Array): number {
  const s = batchS + 1;
  const e = batchE - 1;
  if (lastBatchPool === table.batchPool && same(src, s, e, lastBatch)) return lastBatchCode;
  const name = (src as Buffer).toString('latin1', s, e);
  lastBatch = Buffer.from(name, 'latin1');
  lastBatchCode = table.batchPool.code(name);
  lastBatchPool = table.batchPool;
  return lastBatchCode;
}

/**
 * A list of plain strings (`["a","b"]`, `[]`) starting at src[s] (its `[`): the index after
 * its `]`, or -1 when it is anything else.
 */
export function tagList(src: Uint8Array, s: number, limit: number): number {
  let q = s + 1;
  if (src[q] === 0x5d) return q + 1;
  for (;;) {
    if (src[q] !== 0x22) return -1;
    q = plain(src, q + 1, limit);
    if (q < 0) return -1;
    const c = src[q + 1];
    q += 2;
    if (c === 0x5d) return q;
    if (c !== 0x2c) return -1;
  }
}

const RECENT_TAGS = 4;

/**
 * The code of the tag list at src[s, e) (a JSON array's text): the lists read last are
 * kept as bytes with their codes, since neighbouring lines repeat them. One per scanner.
 */
export function tagCoder(): (table: TestTable, src: Uint8Array, s: number, e: number) => number {
  const recent: Buffer[] = [];
  const codes: number[] = [];
  let pool: unknown = null;
  return (table, src, s, e) => {
    if (pool !== table.tagPool) {
      recent.length = 0;
      codes.length = 0;
      pool = table.tagPool;
    }
    for (let r = 0; r < recent.length; r++) if (same(src, s, e, recent[r] as Buffer)) return codes[r] as number;
    const text = (src as Buffer).toString('latin1', s, e);
    const code = table.tagPool.code(JSON.parse(text) as string[]);
    if (recent.length === RECENT_TAGS) {
      recent.pop();
      codes.pop();
    }
    recent.unshift(Buffer.from(text, 'latin1'));
    codes.unshift(code);
    return code;
  };
}

const tagsCode = tagCoder();

/** A piece's bytes (the batch's JSON, its CSV cell, …), made once per Pieces. */
interface PieceBytes {
  batch: Buffer;
  flow: Buffer;
  batchCsv: Buffer;
  tagsCsv: Buffer;
}

const pieceBytes = new WeakMap<Pieces, PieceBytes>();
// The last row's codes and their bytes: neighbouring lines mostly share them.
let lastKey = -1;
let lastPieces: PieceBytes | null = null;
let lastTable: TestTable | null = null;

function piecesBytes(table: TestTable, i: number): PieceBytes {
  const b = table.batch[i] as number;
  const t = table.tags[i] as number;
  const fl = table.flow[i] as number;
  const key = b < 0x400 && t < 0x400 && fl < 0x400 ? (b << 20) | (t << 10) | fl : -1;
  if (key >= 0 && key === lastKey && table === lastTable) return lastPieces as PieceBytes;
  const pb = bytesOf(table.piecesOf(i));
  lastKey = key;
  lastPieces = pb;
  lastTable = table;
  return pb;
}

function bytesOf(p: Pieces): PieceBytes {
  let b = pieceBytes.get(p);
  if (b === undefined) {
    b = {
      batch: Buffer.from(p.batch),
      flow: Buffer.from(p.flow),
      batchCsv: Buffer.from(p.batchCsv),
      tagsCsv: Buffer.from(p.tagsCsv),
    };
    pieceBytes.set(p, b);
  }
  return b;
}

const SEP_BYTE = SEP.charCodeAt(0);
const FLAKY_HEAD = Buffer.from(',"flaky":');
const SHORT_HEAD = Buffer.from('{"name":"');
const SHORT_MID = Buffer.from('","attempts":');

function putText(text: string, dst: Uint8Array, d: number): number {
  for (let k = 0; k < text.length; k++) dst[d++] = text.charCodeAt(k);
  return d;
}

/** A CSV cell of a plain string (neutralize, then csvField: a formula guard, quotes when it holds a comma). */
function csvCell(src: Uint8Array, s: number, e: number, dst: Uint8Array, d: number): number {
  let comma = false;
  for (let k = s; k < e; k++)
    if (src[k] === 0x2c) {
      comma = true;
      break;
    }
  if (comma) dst[d++] = 0x22;
  const c = src[s];
  if (c === 0x3d || c === 0x2b || c === 0x2d || c === 0x40) dst[d++] = 0x27;
  d = copyBytes(src, s, e, dst, d);
  if (comma) dst[d++] = 0x22;
  return d;
}

const STATUS_TEXT = ['passed', 'failed', 'error', 'skipped'];

/** The scanned line's failures as the record holds them (for failureText). */
function failuresOf(src: Uint8Array): MergedTest {
  const failures: { check: string; expected: string; actual: string }[] = [];
  for (let f = 0; f < failureCount; f++) {
    const k = f * 6;
    const m = f * 3;
    failures.push({
      check: stringAt(src, failureAt[k] as number, failureAt[k + 1] as number, failureForm[m] as number),
      expected: stringAt(src, failureAt[k + 2] as number, failureAt[k + 3] as number, failureForm[m + 1] as number),
      actual: stringAt(src, failureAt[k + 4] as number, failureAt[k + 5] as number, failureForm[m + 2] as number),
    });
  }
  return { status: STATUS_TEXT[status], failures } as unknown as MergedTest;
}

/**
 * Folds the line scanLine just read into the state, as addResult would fold its parsed
 * record; false, with nothing changed, when the row's text would lend the record a field
 * (the line then goes the usual way).
 */
export function foldLine(state: MergeState, src: Uint8Array): boolean {
  const table = state.tests;
  let i = table.indexOfBytes(src, idS, idE);
  if (i >= 0) {
    const flags = table.flags[i] as number;
    // merge-state.ts earlier(): a field the row holds and this record lacks is read back from the text
    if (((flags & FLAG_HAS_RUN) !== 0 && (runIdNull || workerNull)) || ((flags & FLAG_HAS_SHARD) !== 0 && shardNull))
      return false;
  }
  state.recordsRead++;
  let winner = true;
  if (i < 0) i = table.addBytes(src, idS, idE);
  else if (table.records[i] !== 0) {
    state.superseded++;
    const kept = table.start[i] as number;
    winner = Number.isNaN(kept) || startMs >= kept;
  }
  if (winner) take(table, i, src);
  let flags = table.flags[i] as number;
  if (status === STATUS_CODE.failed || status === STATUS_CODE.error || attempts > 1) flags |= FLAG_BAD;
  const passed = table.status[i] === STATUS_CODE.passed;
  flags = passed && flags & FLAG_BAD ? flags | FLAG_FLAKY : flags & ~FLAG_FLAKY;
  table.flags[i] = flags;
  table.countRecord(i, attempts);
  return true;
}

/** merge-state.ts take() for the scanned line: the row's columns and its text. */
function take(table: TestTable, i: number, src: Uint8Array): void {
  table.status[i] = status;
  table.duration[i] = duration;
  if (batchS >= 0) table.setBatch(i, batchCode(table, src));
  table.setTags(i, tagsCode(table, src, tagsS, tagsE));
  table.start[i] = startMs;
  let flags = (table.flags[i] as number) & (FLAG_BAD | FLAG_FLAKY);
  const code = codeS < 0 ? null : stringAt(src, codeS, codeE, codeForm);
  // merge-state.ts neverSent(): no response, and no try or a pre-send error code without time
  if (responseNull && (attempts === 0 || (duration === 0 && code !== null && PRE_SEND.has(code)))) flags |= FLAG_UNSENT;
  if (status === STATUS_CODE.error && code === 'FLOW_STOPPED') flags |= FLAG_STOPPED;
  if (!sameRange(src, nameS, nameE, idS, idE)) flags |= FLAG_HAS_NAME;
  if (!runIdNull || !workerNull) flags |= FLAG_HAS_RUN;
  if (!shardNull) flags |= FLAG_HAS_SHARD;
  table.flags[i] = flags;
  table.pending[i] = 0;
  const spool = table.spool;
  if (table.short && status !== STATUS_CODE.failed && status !== STATUS_CODE.error) {
    // renderName: {"name":…,"attempts":SEP,"flaky":SEP
    const d0 = spool.beginEntry(nameE - nameS + 40);
    const out = spool.entryBuffer();
    let d = put(SHORT_HEAD, out, d0);
    d = copyBytes(src, nameS, nameE, out, d);
    d = put(SHORT_MID, out, d);
    out[d++] = SEP_BYTE;
    d = put(FLAKY_HEAD, out, d);
    out[d++] = SEP_BYTE;
    table.text[i] = spool.endEntry(d);
    return;
  }
  const pb = piecesBytes(table, i);
  const lineLength = shardE - idS;
  // csvParts' failure and error cells, from the values (failureText, errorText: one rule for both ways)
  let failureCell = '';
  let errorCell = '';
  if (table.csv) {
    if (failureCount > 0) failureCell = csvField(neutralize(failureText(failuresOf(src), 1000)));
    if (code !== null)
      errorCell = csvField(
        neutralize(
          errorText({ error: { code, message: stringAt(src, messageS, messageE, messageForm) } } as MergedTest),
        ),
      );
  }
  const cells =
    failureCell === '' && errorCell === '' ? 0 : Buffer.byteLength(failureCell) + Buffer.byteLength(errorCell);
  // The JSON parts hold the line's bytes once (and 18 more), the CSV row the id's and name's
  // again (and at most 60 more, a computed duration included): 160 is ample.
  const d0 = spool.beginEntry(
    2 * lineLength + pb.batch.length + pb.flow.length + pb.batchCsv.length + pb.tagsCsv.length + cells + 160,
  );
  const out = spool.entryBuffer();
  // renderRow: the line's own text up to attempts, then from startedAt to the shard (with
  // the row's batch where the line has none: the batch a line names is the row's).
  let d = copyBytes(src, idS - K_ID.length, attemptsS, out, d0);
  out[d++] = SEP_BYTE;
  if (batchS >= 0) d = copyBytes(src, attemptsE, shardE, out, d);
  else {
    d = copyBytes(src, attemptsE, errorEnd, out, d);
    d = put(pb.batch, out, d);
    d = copyBytes(src, workerS, shardE, out, d);
  }
  d = put(FLAKY_HEAD, out, d);
  out[d++] = SEP_BYTE;
  d = put(pb.flow, out, d);
  if (table.csv) {
    // csvParts: id, name, status, HTTP status, duration, SEP, failure, error (none), batch, tags, host (none).
    out[d++] = SEP_BYTE;
    d = csvCell(src, idS, idE, out, d);
    out[d++] = 0x2c;
    d = csvCell(src, nameS, nameE, out, d);
    out[d++] = 0x2c;
    d = putText(STATUS_TEXT[status] as string, out, d);
    out[d++] = 0x2c;
    if (!responseNull) d = copyBytes(src, httpS, httpE, out, d);
    out[d++] = 0x2c;
    d = durCsvRaw ? copyBytes(src, durS, durE, out, d) : putText(durCsv ?? String(Number(duration.toFixed(3))), out, d);
    out[d++] = 0x2c;
    out[d++] = SEP_BYTE;
    out[d++] = 0x2c;
    if (failureCell !== '') d += out.write(failureCell, d, 'utf8');
    out[d++] = 0x2c;
    if (errorCell !== '') d += out.write(errorCell, d, 'utf8');
    out[d++] = 0x2c;
    d = put(pb.batchCsv, out, d);
    out[d++] = 0x2c;
    d = put(pb.tagsCsv, out, d);
    out[d++] = 0x2c;
    out[d++] = 0x0a;
  }
  // A typed array drops writes past its end without a word: never let that pass as an entry.
  if (d >= out.length) throw new Error('capi-merge: a spool entry outgrew the room made for it');
  table.text[i] = spool.endEntry(d);
}
