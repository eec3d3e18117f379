import type { CheckFailure } from '@capi/core';
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
  /** The body as read: at most --max-body bytes, decoded as UTF-8. */
  text: string;
  truncated: boolean;
  durationMs: number;
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

const regexCache = new Map<string, RegExp>();

function bodyRegex(pattern: string): RegExp | null {
  const m = /^\/(.*)\/([dgimsuyv]*)$/s.exec(pattern);
  if (!m) return null;
  let re = regexCache.get(pattern);
  if (!re) {
    try {
      re = new RegExp(m[1] as string, (m[2] as string).replace('g', ''));
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

function checkBody(expected: string, res: ObservedResponse, show: Show): CheckFailure | null {
  const re = bodyRegex(expected);
  const ok = re ? re.test(res.text) : res.text.includes(expected);
  if (ok) return null;
  const note = res.truncated ? ' (body cut at --max-body)' : '';
  return {
    check: 'body',
    expected: show(re ? `matches ${expected}` : `contains ${JSON.stringify(expected)}`),
    actual: show(res.text) + note,
  };
}

function parseExpectedJson(text: string): unknown {
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
    const why = res.truncated ? 'body cut at --max-body, not whole JSON' : 'body is not JSON';
    return { check: 'json', expected: show(expectedText), actual: show(`${why}: ${res.text}`) };
  }
  const m = jsonContains(expected, actual);
  if (!m) return null;
  return {
    check: 'json',
    expected: show(`${m.path} = ${JSON.stringify(m.expected)}`),
    actual: show(m.missing ? `${m.path} missing` : `${m.path} = ${JSON.stringify(m.actual)}`),
  };
}

/** Every failed check of an answered request; empty when it passed. */
export function runChecks(expect: Expectation, res: ObservedResponse, show: Show = cut): CheckFailure[] {
  const failures: CheckFailure[] = [];
  if (!statusPasses(expect.status, res.status))
    failures.push({ check: 'status', expected: expect.status, actual: String(res.status) });
  if (expect.body !== null && expect.body !== '') {
    const f = checkBody(expect.body, res, show);
    if (f) failures.push(f);
  }
  if (hasJson(expect)) {
    const f = checkJson(expect.json, res, show, expect.jsonValue);
    if (f) failures.push(f);
  }
  if (expect.maxMs !== null && res.durationMs > expect.maxMs)
    failures.push({ check: 'max_ms', expected: `<= ${expect.maxMs} ms`, actual: `${res.durationMs.toFixed(1)} ms` });
  return failures;
}
