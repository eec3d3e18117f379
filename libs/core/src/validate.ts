import { flowFields, flowFieldsProblem } from './flow-fields.js';
import { HTTP_METHODS, type HttpMethod, RESULT_STATUSES, type TestRecord } from './records.js';
import { jsonLimitProblem, regexLimitProblem } from './suite-limits.js';

/**
 * The value rules of a test, shared by the suite CSV's cells (capi-split) and NDJSON test
 * records (capi-split, capi-exec, capi-merge's --suite), so that both inputs are checked and
 * normalized alike. Each returns the normalized value, or throws ValueError with a message
 * that names no field: the caller names it, as a CSV column (`expect_status`) or a record
 * field (`expect.status`).
 */
export class ValueError extends Error {
  /** `field`: the column at fault when a rule reads more than one (flow and phase). */
  constructor(
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = 'ValueError';
  }
}

/** Any case, surrounding spaces dropped: ` get ` is GET. */
export function methodValue(text: string): HttpMethod {
  const upper = text.trim().toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(upper))
    throw new ValueError(`unknown method ${JSON.stringify(text.trim())} (expected one of ${HTTP_METHODS.join(', ')})`);
  return upper as HttpMethod;
}

const STATUS_PART = /^(?:[1-5]\d\d|[1-5]xx)$/i;

/** `200`, `2xx`, `200,201,204`, `2xx,404`, as `2xx,404` (lower case, no spaces); empty is `2xx`. */
export function statusValue(text: string): string {
  // One plain part (`200`, `2xx`): the common case, without the split (every record of a
  // suite is validated twice by a capi-exec with a journal; issue 16)
  if (STATUS_PART.test(text)) return text.toLowerCase();
  const trimmed = text.trim();
  if (trimmed === '') return '2xx';
  const parts = trimmed.split(',').map((p) => p.trim());
  if (!parts.every((p) => STATUS_PART.test(p)))
    throw new ValueError(`expected a code like 200, a class like 2xx, or a list (got ${JSON.stringify(trimmed)})`);
  return parts.join(',').toLowerCase();
}

/**
 * `/regex/flags` with flags among those capi-exec reads (d g i m s u v y) is a regular
 * expression and must compile, as capi-exec compiles it (without `g`); anything else is a
 * substring (`/users/me` included). Empty means no check.
 */
export function bodyValue(text: string): string | null {
  if (text === '') return null;
  const m = /^\/(.*)\/([dgimsuyv]*)$/s.exec(text);
  if (m) {
    const tooLong = regexLimitProblem(text);
    if (tooLong) throw new ValueError(tooLong);
    try {
      new RegExp(m[1] as string, (m[2] as string).replace('g', ''));
    } catch (err) {
      throw new ValueError(`bad regular expression: ${(err as Error).message}`);
    }
  }
  return text;
}

/**
 * JSON text, checked with each `{{template}}` read as a value, since templates are expanded
 * later by capi-exec (`{"id": {{id}}}` is fine). Returns what the probe parsed to.
 */
export function templatedJson(text: string): unknown {
  // Before parsing: 20,000 levels parse, but every later walk of the value would overflow.
  const limit = jsonLimitProblem(text);
  if (limit) throw new ValueError(limit);
  const probe = text.includes('{{') ? text.replace(/\{\{[^{}]*\}\}/g, '0') : text;
  try {
    return JSON.parse(probe);
  } catch (err) {
    throw new ValueError(`malformed JSON: ${(err as Error).message}`);
  }
}

/** `expect.json`: JSON text kept as text; empty means no check. */
export function jsonTextValue(text: string): string | null {
  if (text === '') return null;
  templatedJson(text);
  return text;
}

/** `max_ms`, `timeout_ms`: a whole number of milliseconds (a cell's text or a JSON number); empty or null is none. */
export function millisValue(value: string | number | null): number | null {
  if (value === null) return null;
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new ValueError(`must be a whole number of milliseconds (got ${value})`);
  }
  const text = value.trim();
  if (text === '') return null;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
    throw new ValueError(`must be a whole number of milliseconds (got ${JSON.stringify(text)})`);
  return n;
}

const ENABLED: Record<string, boolean> = { yes: true, true: true, '1': true, on: true };
const DISABLED: Record<string, boolean> = { no: true, false: true, '0': true, off: true };

/** An `enabled` cell, in any case and trimmed: empty is enabled; yes/no, true/false, 1/0, on/off. */
export function enabledValue(text: string): boolean {
  const word = text.trim().toLowerCase();
  if (word === '' || ENABLED[word]) return true;
  if (DISABLED[word]) return false;
  throw new ValueError(`expected yes/no, true/false, 1/0 or on/off (got ${JSON.stringify(text)})`);
}

/** A `tags` cell: split on `;`, as tagsValue keeps them. */
export function tagsCellValue(text: string): string[] {
  return text ? tagsValue(text.split(';')) : [];
}

/** Tags trimmed, empty and repeated ones dropped, in their first order. */
export function tagsValue(parts: readonly string[]): string[] {
  const tags: string[] = [];
  for (const part of parts) {
    const tag = part.trim();
    if (tag !== '' && !tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

/**
 * Checks for records read from NDJSON. Each returns null when the value is well-formed, or
 * a message that names the offending field.
 */

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
/** A string with something in it besides spaces (the CSV path trims id and url). */
const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
const isNullableStr = (v: unknown) => v === null || v === undefined || typeof v === 'string';
const isNullableNum = (v: unknown) => v === null || v === undefined || (typeof v === 'number' && Number.isFinite(v));
const isStrMap = (v: unknown) => isObj(v) && Object.values(v).every(isStr);
/** `source` is kept only in this shape: anything else (a nested value) would be carried into every result. */
const isSourceRef = (v: unknown) =>
  isObj(v) &&
  isStr(v.file) &&
  Number.isSafeInteger(v.line) &&
  Object.keys(v).every((k) => k === 'file' || k === 'line');

export function validateTestRecord(v: unknown): string | null {
  if (!isObj(v)) return 'a test record must be a JSON object';
  if (!isText(v.id)) return 'field "id": must be a non-empty string';
  if (v.name !== undefined && !isStr(v.name)) return 'field "name": must be a string';
  if (v.seq !== undefined && !(Number.isInteger(v.seq) && (v.seq as number) >= 0))
    return 'field "seq": must be a whole number >= 0';
  const req = v.request;
  if (!isObj(req)) return 'field "request": must be an object';
  if (!isStr(req.method)) return 'field "request.method": must be a method name like "GET"';
  const method = valueProblem('request.method', () => methodValue(req.method as string));
  if (method) return method;
  if (!isText(req.url)) return 'field "request.url": must be a non-empty string';
  if (req.headers !== undefined && !isStrMap(req.headers))
    return 'field "request.headers": must be an object of string values';
  if (!isNullableStr(req.body)) return 'field "request.body": must be a string or null';
  const expect = v.expect === undefined ? null : expectProblem(v.expect);
  if (expect) return expect;
  const timeout = millisProblem('timeoutMs', v.timeoutMs);
  if (timeout) return timeout;
  if (v.tags !== undefined && !(Array.isArray(v.tags) && v.tags.every(isStr)))
    return 'field "tags": must be an array of strings';
  if (v.enabled !== undefined && typeof v.enabled !== 'boolean') return 'field "enabled": must be true or false';
  if (v.vars !== undefined && !isStrMap(v.vars)) return 'field "vars": must be an object of string values';
  return flowFieldsProblem(v);
}

/** `expect`: the same rules as the suite CSV's expect_status, expect_body, expect_json and max_ms cells. */
function expectProblem(exp: unknown): string | null {
  if (!isObj(exp)) return 'field "expect": must be an object';
  if (exp.status !== undefined) {
    if (!isStr(exp.status)) return 'field "expect.status": must be a string';
    const problem = valueProblem('expect.status', () => statusValue(exp.status as string));
    if (problem) return problem;
  }
  if (!isNullableStr(exp.body)) return 'field "expect.body": must be a string or null';
  if (isStr(exp.body)) {
    const problem = valueProblem('expect.body', () => bodyValue(exp.body as string));
    if (problem) return problem;
  }
  if (!isNullableStr(exp.json)) return 'field "expect.json": must be JSON text or null';
  if (isStr(exp.json)) {
    const problem = valueProblem('expect.json', () => jsonTextValue(exp.json as string));
    if (problem) return problem;
  }
  return millisProblem('expect.maxMs', exp.maxMs);
}

function millisProblem(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number') return `field "${field}": must be a whole number of milliseconds or null`;
  return valueProblem(field, () => millisValue(value));
}

/** A shared value rule's complaint, as a record field's problem. */
function valueProblem(field: string, check: () => unknown): string | null {
  try {
    check();
    return null;
  } catch (err) {
    if (err instanceof ValueError) return `field "${field}": ${err.message}`;
    throw err;
  }
}

/**
 * Fills the optional fields of a validated test record with their defaults, and normalizes
 * its values as the suite CSV's are: the method upper-cased, the status pattern lower-cased
 * without spaces, tags trimmed without empty or repeated ones, an empty body or JSON
 * expectation read as none.
 */
export function normalizeTestRecord(v: Obj, seq: number): TestRecord {
  const req = v.request as Obj;
  const exp = (v.expect ?? {}) as Obj;
  return {
    id: v.id as string,
    name: (v.name as string | undefined) || (v.id as string),
    seq: (v.seq as number | undefined) ?? seq,
    request: {
      method: methodValue(req.method as string),
      url: req.url as string,
      headers: (req.headers as Record<string, string> | undefined) ?? {},
      body: (req.body as string | null | undefined) ?? null,
    },
    expect: {
      status: statusValue((exp.status as string | undefined) ?? ''),
      body: (exp.body as string | null | undefined) || null,
      json: (exp.json as string | null | undefined) || null,
      maxMs: (exp.maxMs as number | null | undefined) ?? null,
    },
    timeoutMs: (v.timeoutMs as number | null | undefined) ?? null,
    tags: tagsValue((v.tags as string[] | undefined) ?? []),
    enabled: (v.enabled as boolean | undefined) ?? true,
    vars: (v.vars as Record<string, string> | undefined) ?? {},
    source: isSourceRef(v.source)
      ? { file: (v.source as Obj).file as string, line: (v.source as Obj).line as number }
      : null,
    // Flows (capture, flow, phase): only when present, so records without them stay as they were
    // (none: no object made and spread per record; capi-exec reads every record twice).
    ...(v.capture === undefined && v.flow === undefined && v.phase === undefined ? null : flowFields(v)),
  };
}

export function validateResultRecord(v: unknown): string | null {
  if (!isObj(v)) return 'a result record must be a JSON object';
  if (!isStr(v.id) || v.id === '') return 'field "id": must be a non-empty string';
  if (!isStr(v.status) || !(RESULT_STATUSES as readonly string[]).includes(v.status))
    return `field "status": must be one of ${RESULT_STATUSES.join(', ')}`;
  if (v.attempts !== undefined && !(Number.isInteger(v.attempts) && (v.attempts as number) >= 0))
    return 'field "attempts": must be a whole number';
  if (!isNullableNum(v.durationMs)) return 'field "durationMs": must be a number';
  if (v.failures !== undefined && !Array.isArray(v.failures)) return 'field "failures": must be an array';
  if (v.error !== undefined && v.error !== null && !isObj(v.error)) return 'field "error": must be an object or null';
  // the reports sort and group by tag: a number or null there was a crash, not a report
  if (v.tags !== undefined && !(Array.isArray(v.tags) && v.tags.every(isStr)))
    return 'field "tags": must be an array of strings';
  return null;
}
