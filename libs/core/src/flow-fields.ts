import { UsageError } from './errors.js';
import { regexLimitProblem } from './suite-limits.js';
import { ValueError } from './validate.js';

/**
 * The three fields of flows (issue 13, docs/formats.md "Flows"): `capture`, `flow`,
 * `phase`. One rule for the suite CSV's cells (capi-split) and NDJSON test records
 * (capi-split, capi-exec), and the parse of a capture source capi-exec evaluates.
 */

export const PHASES = ['setup', 'test', 'teardown'] as const;
/** A record's `phase`: absent for a test. */
export type Phase = 'setup' | 'teardown';

export interface Capture {
  name: string;
  /** `json:$.path`, `header:Name`, `status`, `body:/regex/flags`. */
  source: string;
}

/** A JSONPath step: a property name or an array index. */
export type JsonStep = string | number;

export type CaptureSource =
  | { kind: 'json'; path: JsonStep[] }
  | { kind: 'header'; name: string }
  | { kind: 'status' }
  | { kind: 'body'; pattern: string; flags: string };

export const CAPTURE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The test's own template names: a capture of the same name could never be read. */
const RESERVED_NAMES = new Set(['id', 'name']);
/**
 * Names of JavaScript objects' own machinery: a capture by one of these is refused, so
 * no suite can reach an object's prototype through a name (capi-exec also keeps captured
 * values in prototype-less objects).
 */
const PROTOTYPE_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
/** An HTTP token (RFC 9110): what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Why a capture name is not one, or null. */
export function captureNameProblem(name: string): string | null {
  if (!CAPTURE_NAME.test(name))
    return `capture name ${JSON.stringify(name)} must be letters, digits and _, not starting with a digit`;
  if (RESERVED_NAMES.has(name)) return `capture name "${name}" is the test's own {{${name}}}`;
  if (PROTOTYPE_NAMES.has(name)) return `capture name "${name}" is not allowed (a name of JavaScript objects' own)`;
  return null;
}

/** `$`, `.name`, `['name']` (with `\'` and `\\`), `[index]`: the steps, or a ValueError. */
export function parseJsonPath(path: string): JsonStep[] {
  if (!path.startsWith('$')) throw new ValueError(`JSON path ${JSON.stringify(path)} must start with $`);
  const steps: JsonStep[] = [];
  let i = 1;
  const bad = (why: string) => new ValueError(`JSON path ${JSON.stringify(path)}: ${why} at character ${i + 1}`);
  while (i < path.length) {
    if (path[i] === '.') {
      const m = /^[A-Za-z_$][A-Za-z0-9_$-]*/.exec(path.slice(i + 1));
      if (!m) throw bad('expected a name after "."');
      steps.push(m[0]);
      i += 1 + m[0].length;
    } else if (path.startsWith("['", i)) {
      let name = '';
      let j = i + 2;
      for (; j < path.length && path[j] !== "'"; j++) {
        if (path[j] === '\\' && (path[j + 1] === "'" || path[j + 1] === '\\')) j++;
        name += path[j];
      }
      if (!path.startsWith("']", j)) throw bad(`expected "']"`);
      steps.push(name);
      i = j + 2;
    } else if (path[i] === '[') {
      const m = /^\[(\d{1,9})\]/.exec(path.slice(i));
      if (!m) throw bad("expected [index] or ['name']");
      steps.push(Number(m[1]));
      i += m[0].length;
    } else throw bad('expected ".", "[" or the end');
  }
  return steps;
}

/** A capture source, checked (a regex compiles, within the suite limits), or a ValueError. */
export function parseCaptureSource(source: string): CaptureSource {
  const text = source.trim();
  if (text === 'status') return { kind: 'status' };
  if (text.startsWith('json:')) return { kind: 'json', path: parseJsonPath(text.slice(5).trim()) };
  if (text.startsWith('header:')) {
    const name = text.slice(7).trim();
    if (!HEADER_NAME.test(name)) throw new ValueError(`header name ${JSON.stringify(name)} is not an HTTP header name`);
    return { kind: 'header', name };
  }
  if (text.startsWith('body:')) {
    const regex = text.slice(5).trim();
    const m = /^\/(.+)\/([dgimsuyv]*)$/s.exec(regex);
    if (!m) throw new ValueError(`body capture ${JSON.stringify(regex)} must be /regex/flags (flags among dgimsuvy)`);
    const tooLong = regexLimitProblem(regex);
    if (tooLong) throw new ValueError(tooLong);
    const flags = (m[2] as string).replace('g', '');
    try {
      new RegExp(m[1] as string, flags);
    } catch (err) {
      throw new ValueError(`bad regular expression: ${(err as Error).message}`);
    }
    return { kind: 'body', pattern: m[1] as string, flags };
  }
  throw new ValueError(
    `unknown capture source ${JSON.stringify(text.slice(0, 40))} (expected json:$.path, header:Name, status or body:/regex/)`,
  );
}

/**
 * A CSV `capture` cell: `name=source` pairs separated by `;`. A `;` inside a body regex is
 * a separator only when `name=` follows it, so `body:/a;b/` stays whole.
 */
export function captureCellValue(text: string): Capture[] {
  if (text.trim() === '') return [];
  const parts = text.split(/;(?=\s*[A-Za-z_][A-Za-z0-9_]*\s*=)/);
  const captures: Capture[] = [];
  for (const part of parts) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new ValueError(`expected name=source, got ${JSON.stringify(part.trim().slice(0, 40))}`);
    captures.push({ name: part.slice(0, eq).trim(), source: part.slice(eq + 1).trim() });
  }
  const problem = capturesProblem(captures);
  if (problem) throw new ValueError(problem.message);
  return captures;
}

/** Names, duplicates and sources of a capture list: the first problem and its index, or null. */
export function capturesProblem(captures: readonly Capture[]): { index: number; message: string } | null {
  const seen = new Set<string>();
  for (const [index, c] of captures.entries()) {
    const name = captureNameProblem(c.name);
    if (name) return { index, message: name };
    if (seen.has(c.name)) return { index, message: `capture name "${c.name}" given twice` };
    seen.add(c.name);
    try {
      parseCaptureSource(c.source);
    } catch (err) {
      if (err instanceof ValueError) return { index, message: `capture "${c.name}": ${err.message}` };
      throw err;
    }
  }
  return null;
}

/** A `phase` cell or field: `setup`, `teardown`, or a test (empty, `test`; any case, trimmed). */
export function phaseValue(text: string): Phase | null {
  const p = text.trim().toLowerCase();
  if (p === '' || p === 'test') return null;
  if (p === 'setup' || p === 'teardown') return p;
  throw new ValueError(`unknown phase ${JSON.stringify(text.trim())} (expected setup, test or teardown)`);
}

/**
 * A suite row's `flow` and `phase` cells together, as capi-split and capi-merge read them:
 * a setup or teardown row runs in every process, so it belongs to no flow. Throws a
 * ValueError naming the cell at fault.
 */
export function flowPhaseValue(flowText: string, phaseText: string): { flow: string | null; phase: Phase | null } {
  let phase: Phase | null;
  try {
    phase = phaseValue(phaseText);
  } catch (err) {
    throw err instanceof ValueError ? new ValueError(err.message, 'phase') : err;
  }
  const flow = flowValue(flowText);
  if (flow !== null && phase !== null)
    throw new ValueError(
      `a ${phase} row belongs to no flow (it runs in every process); give phase or flow, not both`,
      'flow',
    );
  return { flow, phase };
}

/** A `flow` cell: trimmed, empty is none. */
export function flowValue(text: string): string | null {
  const f = text.trim();
  return f === '' ? null : f;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The flow fields of an NDJSON test record: a message naming the field, or null. */
export function flowFieldsProblem(v: Obj): string | null {
  if (v.capture !== undefined && v.capture !== null) {
    if (!Array.isArray(v.capture)) return 'field "capture": must be an array of {"name", "source"}';
    for (const [i, c] of v.capture.entries())
      if (!isObj(c) || typeof c.name !== 'string' || typeof c.source !== 'string')
        return `field "capture[${i}]": must be {"name": "…", "source": "…"}`;
    const problem = capturesProblem(v.capture as Capture[]);
    if (problem) return `field "capture[${problem.index}]": ${problem.message}`;
  }
  if (v.flow !== undefined && v.flow !== null && (typeof v.flow !== 'string' || v.flow.trim() === ''))
    return 'field "flow": must be a non-empty string or null';
  let phase: Phase | null = null;
  if (v.phase !== undefined && v.phase !== null) {
    if (typeof v.phase !== 'string') return 'field "phase": must be "setup", "test" or "teardown"';
    try {
      phase = phaseValue(v.phase);
    } catch (err) {
      return `field "phase": ${(err as Error).message}`;
    }
  }
  if (phase !== null && typeof v.flow === 'string')
    return `field "flow": a ${phase} row belongs to no flow (give phase or flow, not both)`;
  return null;
}

/** The flow fields of a validated record, as a test record holds them: only those present. */
export function flowFields(v: Obj): { capture?: Capture[]; flow?: string; phase?: Phase } {
  const out: { capture?: Capture[]; flow?: string; phase?: Phase } = {};
  if (Array.isArray(v.capture) && v.capture.length > 0)
    out.capture = (v.capture as Capture[]).map((c) => ({ name: c.name, source: c.source.trim() }));
  if (typeof v.flow === 'string') out.flow = v.flow.trim();
  const phase = typeof v.phase === 'string' ? phaseValue(v.phase) : null;
  if (phase) out.phase = phase;
  return out;
}

/**
 * The statuses of capi-exec's `--reauth-on`: `401`, `401,403`; `none` turns re-login off
 * (capi-launch passes it on, checked by the same rule).
 */
export function parseReauthOn(text: string): Set<number> {
  const t = text.trim().toLowerCase();
  if (t === 'none') return new Set();
  const codes = t.split(',').map((p) => p.trim());
  if (codes.length === 0 || !codes.every((c) => /^[1-5]\d\d$/.test(c)))
    throw new UsageError(`--reauth-on takes status codes like 401 or 401,403, or none (got ${JSON.stringify(text)})`);
  return new Set(codes.map(Number));
}
