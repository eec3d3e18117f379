import { type CheckFailure, jsonLimitProblem } from '@capi/core';
import { type BodyRegex, compileBodyRegex, REGEX_DEADLINE_MS, testBodyRegex } from './body-regex.js';
import { jsonContains } from './json-match.js';
import { statusMatcher } from './status-pattern.js';

/** The expectations of one test after template expansion. */
export interface Expectation {
  status: string;
  body: string | null;
  json: string | null;
  maxMs: number | null;
  /** `json` parsed, set by `checkExpectation` so that it is parsed once per test. */
  jsonValue?: unknown;
}

export interface ObservedResponse {
  status: number;
  /** The body as read: at most --max-body bytes (after any Content-Encoding is undone), decoded as UTF-8. */
  text: string;
  truncated: boolean;
  durationMs: number;
  /** Bytes on the wire, and decoded when the body was encoded (for the cut note). */
  bytes?: number;
  decodedBytes?: number | null;
}

/** A check could not even be evaluated (a bad regex, JSON text that does not parse). */
export class BadExpectation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadExpectation';
  }
}

export const ACTUAL_LIMIT = 200;

/** Cuts a value to a readable length for `failures[].actual`. */
export function cut(text: string, limit = ACTUAL_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length} chars)`;
}

const regexCache = new Map<string, BodyRegex>();

function bodyRegex(pattern: string): BodyRegex | null {
  const m = /^\/(.*)\/([dgimsuyv]*)$/s.exec(pattern);
  if (!m) return null;
  let re = regexCache.get(pattern);
  if (!re) {
    try {
      re = compileBodyRegex(m[1] as string, (m[2] as string).replace('g', ''));
    } catch (err) {
      throw new BadExpectation(`expect.body: bad regular expression ${pattern}: ${(err as Error).message}`);
    }
    if (regexCache.size < 1000) regexCache.set(pattern, re);
  }
  return re;
}

export function statusPasses(pattern: string, status: number): boolean {
  const m = statusMatcher(pattern);
  if (typeof m === 'string') throw new BadExpectation(`expect.status: ${m}`);
  return m(status);
}

/** How a text is shown in a failure: redacted whole first, then cut (see redact.ts). */
export type Show = (text: string) => string;

/** Why the checks saw only part of the body, or ''. */
function cutNote(res: ObservedResponse): string {
  if (!res.truncated) return '';
  if (res.decodedBytes === undefined || res.decodedBytes === null) return ' (body cut at --max-body)';
  return ` (decoded body cut at --max-body: ${res.bytes ?? '?'} bytes on the wire decoded to more than ${res.text.length} characters, decoding stopped)`;
}

/** The body check's failure from its verdict, or null when it passed. */
function bodyFailure(
  expected: string,
  regex: boolean,
  verdict: boolean | 'timeout',
  res: ObservedResponse,
  show: Show,
): CheckFailure | null {
  if (verdict === true) return null;
  const shown = regex ? `matches ${expected}` : `contains ${JSON.stringify(expected)}`;
  if (verdict === 'timeout')
    return {
      check: 'body',
      expected: show(shown),
      actual: `not decided: the regular expression ran longer than ${REGEX_DEADLINE_MS} ms on this body of ${res.text.length} characters and was stopped (a pattern that backtracks, such as nested quantifiers or a backreference)`,
    };
  return { check: 'body', expected: show(shown), actual: show(res.text) + cutNote(res) };
}

function parseExpectedJson(text: string): unknown {
  // The suite was checked when it was read; templates may have grown the text since.
  const problem = jsonLimitProblem(text);
  if (problem) throw new BadExpectation(`expect.json: ${problem}`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BadExpectation(`expect.json: not JSON: ${(err as Error).message}`);
  }
}

const hasJson = (e: Expectation): e is Expectation & { json: string } => e.json !== null && e.json.trim() !== '';

/**
 * Throws BadExpectation when a check could not be evaluated (a bad status pattern, a regex
 * that does not compile, expect.json that is not JSON). Called before the request is sent:
 * a test that cannot be judged is not sent at all.
 */
export function checkExpectation(expect: Expectation): void {
  const status = statusMatcher(expect.status);
  if (typeof status === 'string') throw new BadExpectation(`expect.status: ${status}`);
  if (expect.body !== null && expect.body !== '') bodyRegex(expect.body);
  if (hasJson(expect)) expect.jsonValue = parseExpectedJson(expect.json);
}

function checkJson(expectedText: string, res: ObservedResponse, show: Show, parsed?: unknown): CheckFailure | null {
  const expected = parsed === undefined ? parseExpectedJson(expectedText) : parsed;
  let actual: unknown;
  try {
    actual = JSON.parse(res.text);
  } catch {
    const why = res.truncated ? `body cut at --max-body, not whole JSON${cutNote(res)}` : 'body is not JSON';
    return { check: 'json', expected: show(expectedText), actual: show(`${why}: ${res.text}`) };
  }
  const m = jsonContains(expected, actual);
  if (!m) return null;
  return {
    check: 'json',
    expected: show(`${m.path} = ${preview(m.expected)}`),
    actual: show(m.missing ? `${m.path} missing` : `${m.path} = ${preview(m.actual)}`),
  };
}

/** A value for a failure message: JSON, or a note when it is nested too deeply to write. */
function preview(v: unknown): string {
  try {
    const text = JSON.stringify(v);
    return text.length > ACTUAL_LIMIT * 4 ? `${text.slice(0, ACTUAL_LIMIT * 4)}…` : text;
  } catch {
    return Array.isArray(v) ? '[… nested too deeply to show]' : '{… nested too deeply to show}';
  }
}

/** The checks after the body's (json, max_ms), added to `failures` in that order. */
function checksAfterBody(
  expect: Expectation,
  res: ObservedResponse,
  show: Show,
  failures: CheckFailure[],
): CheckFailure[] {
  if (hasJson(expect)) {
    const f = checkJson(expect.json, res, show, expect.jsonValue);
    if (f) failures.push(f);
  }
  if (expect.maxMs !== null && res.durationMs > expect.maxMs)
    failures.push({ check: 'max_ms', expected: `<= ${expect.maxMs} ms`, actual: `${res.durationMs.toFixed(1)} ms` });
  return failures;
}

/**
 * Every failed check of an answered request (status, body, json, max_ms, in that order);
 * empty when it passed. `show` redacts and cuts failure texts; `signal`: the run is cut,
 * stop waiting. A plain array unless a body regex runs in its worker (a long body or a
 * pattern that may backtrack): then a promise of it. Most tests then take no promise
 * here, nor in the two functions above this one in run-one.ts (issue 16).
 */
export function runChecks(
  expect: Expectation,
  res: ObservedResponse,
  show: Show = cut,
  signal?: AbortSignal,
): CheckFailure[] | Promise<CheckFailure[]> {
  const failures: CheckFailure[] = [];
  if (!statusPasses(expect.status, res.status))
    failures.push({ check: 'status', expected: expect.status, actual: String(res.status) });
  const expected = expect.body;
  if (expected !== null && expected !== '') {
    const re = bodyRegex(expected);
    const verdict = re ? testBodyRegex(re, res.text, signal) : res.text.includes(expected);
    if (typeof verdict === 'object')
      return verdict.then((v) => {
        const f = bodyFailure(expected, true, v, res, show);
        if (f) failures.push(f);
        return checksAfterBody(expect, res, show, failures);
      });
    const f = bodyFailure(expected, re !== null, verdict, res, show);
    if (f) failures.push(f);
  }
  return checksAfterBody(expect, res, show, failures);
}
