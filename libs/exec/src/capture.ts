import {
  type Capture,
  type CaptureSource,
  type CheckFailure,
  isCredentialName,
  type JsonStep,
  parseCaptureSource,
} from '@capi/core';
import { type BodyRegex, compileBodyRegex, execBodyRegex, REGEX_DEADLINE_MS } from './body-regex.js';
import type { HttpAnswer } from './http-client.js';

/**
 * Captures (flows, docs/formats.md): values taken from a test's final answer for later
 * rows of its flow, or for every row when a setup row took them. A capture that finds
 * nothing is a `capture` failure of the test, saying which capture and where it looked.
 */

/**
 * Captured values by name, in an object without a prototype (the names `__proto__`,
 * `constructor` and `prototype` are refused when a suite is read, core flow-fields.ts; this
 * keeps any name an own property and never a path to `Object.prototype`). Later bags win.
 */
export function captureBag(
  ...from: ReadonlyArray<Readonly<Record<string, string>> | undefined>
): Record<string, string> {
  const bag = Object.create(null) as Record<string, string>;
  for (const f of from) if (f) for (const k of Object.keys(f)) bag[k] = f[k] as string;
  return bag;
}

/** What a test's captures found: the values by name, and a failure for each that found nothing. */
export interface Taken {
  values: Record<string, string>;
  failures: CheckFailure[];
}

interface Compiled {
  source: CaptureSource;
  regex: BodyRegex | null;
}

// Suites repeat the same few sources over thousands of rows: parse each text once.
const compiled = new Map<string, Compiled>();
const COMPILED_MAX = 1000;

function compile(text: string): Compiled {
  let c = compiled.get(text);
  if (!c) {
    // Records were validated when read (core flow-fields.ts): this cannot throw.
    const source = parseCaptureSource(text);
    const regex = source.kind === 'body' ? compileBodyRegex(source.pattern, source.flags) : null;
    c = { source, regex };
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    compiled.set(text, c);
  }
  return c;
}

/** Whether the captures read the body (the client then keeps it, as for a body check). */
export function capturesReadBody(captures: readonly Capture[] | undefined): boolean {
  if (!captures) return false;
  return captures.some((c) => {
    const kind = compile(c.source).source.kind;
    return kind === 'json' || kind === 'body';
  });
}

/**
 * Whether a capture's value is a credential by its name or where it came from
 * (`access_token`, `json:$.auth.token`, `header:X-Session`): redacted wherever it is written.
 */
export function credentialCapture(c: Capture): boolean {
  if (isCredentialName(c.name)) return true;
  const s = compile(c.source).source;
  if (s.kind === 'header') return isCredentialName(s.name);
  if (s.kind === 'json') return s.path.some((step) => typeof step === 'string' && isCredentialName(step));
  return false;
}

/** A setup row's captures are always secrets (a login's answer); a flow's only when credential-like. */
export function secretCapture(phase: string | undefined, c: Capture): boolean {
  return phase === 'setup' || credentialCapture(c);
}

/**
 * The longest value a capture takes, in characters. A value goes into URLs, headers and
 * bodies of every later row of its flow (of every row, from a setup row) and is kept for
 * the whole process: a hostile or broken API answering a 200 MB id must not make every
 * later request, every message that quotes it and the process's memory that big. A JWT or
 * an OAuth2 token is a few KB.
 */
export const CAPTURE_VALUE_CHARS = 64 * 1024;

const MISSING = Symbol('missing');

function walk(root: unknown, path: readonly JsonStep[]): unknown {
  let at: unknown = root;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(at) || step >= at.length) return MISSING;
      at = at[step];
    } else {
      if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, step)) return MISSING;
      at = (at as Record<string, unknown>)[step];
    }
  }
  return at;
}

function headerValue(a: HttpAnswer, name: string): string | null {
  const raw = a.rawHeaders;
  if (!raw) return null;
  const lower = name.toLowerCase();
  for (let i = 0; i + 1 < raw.length; i += 2)
    if ((raw[i] as Buffer).toString('latin1').toLowerCase() === lower) return (raw[i + 1] as Buffer).toString('latin1');
  return null;
}

/** The body parsed once for every json capture of a test: the value, or why there is none. */
type Parsed = { value: unknown } | { why: string };

function parseBody(a: HttpAnswer): Parsed {
  if (a.truncated) return { why: 'the body was cut at --max-body, not whole JSON' };
  try {
    return { value: JSON.parse(a.text) };
  } catch {
    return { why: 'the body is not JSON' };
  }
}

type One = { value: string } | { why: string };

async function takeOne(c: Compiled, a: HttpAnswer, parsed: () => Parsed, signal?: AbortSignal): Promise<One> {
  const s = c.source;
  if (s.kind === 'status') return { value: String(a.status) };
  if (s.kind === 'header') {
    const v = headerValue(a, s.name);
    return v === null ? { why: `no header ${s.name} in the response` } : { value: v };
  }
  if (s.kind === 'json') {
    const body = parsed();
    if ('why' in body) return body;
    const v = walk(body.value, s.path);
    if (v === MISSING) return { why: 'no such path in the response' };
    return { value: typeof v === 'string' ? v : JSON.stringify(v) };
  }
  const m = await execBodyRegex(c.regex as BodyRegex, a.text, signal);
  if (m === 'timeout') return { why: `the body regex ran longer than ${REGEX_DEADLINE_MS} ms and was stopped` };
  if (m === null) return { why: a.truncated ? 'no match in the body (cut at --max-body)' : 'no match in the body' };
  return m;
}

/** Takes every capture of a test from its answer. */
export async function takeCaptures(captures: readonly Capture[], a: HttpAnswer, signal?: AbortSignal): Promise<Taken> {
  const taken: Taken = { values: captureBag(), failures: [] };
  let body: Parsed | null = null;
  const parsed = () => {
    body ??= parseBody(a);
    return body;
  };
  for (const c of captures) {
    let one = await takeOne(compile(c.source), a, parsed, signal);
    if ('value' in one && one.value.length > CAPTURE_VALUE_CHARS)
      one = { why: `the value has ${one.value.length} characters, over the ${CAPTURE_VALUE_CHARS} a capture may take` };
    if ('value' in one) taken.values[c.name] = one.value;
    else taken.failures.push({ check: 'capture', expected: `${c.name} from ${c.source}`, actual: one.why });
  }
  return taken;
}
