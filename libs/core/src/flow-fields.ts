import { regexLimitProblem } from './suite-limits.js';
import { RECORD_TEMPLATE_NAMES } from './template-names.js';
import { ValueError } from './validate.js';

/**
 * The value rules of flows (issue 13, docs/formats.md "Flows"): the `capture`, `flow` and
 * `phase` of a test, shared by the suite CSV's cells and NDJSON test records. Like the other
 * value rules they throw ValueError with a message that names no field.
 */

/** `setup` and `teardown`: rows that are not tests; absent means a test. */
export const PHASES = ['setup', 'teardown'] as const;
export type Phase = (typeof PHASES)[number];

export interface Capture {
  /** Used as `{{name}}` by later rows of the flow (or by every row, when a setup row captured it). */
  name: string;
  /** `json:$.path`, `header:Name`, `status` or `body:/regex/flags`. */
  source: string;
}

export const CAPTURE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// `$`, then `.name`, `['name']` or `[index]`, any number of times
const JSON_PATH = /^\$(?:\.[A-Za-z_$][A-Za-z0-9_$-]*|\['(?:[^'\\]|\\.)*'\]|\[\d+\])*$/;

/** A capture source, checked as capi-exec reads it; returns it trimmed. */
export function captureSourceValue(text: string): string {
  const source = text.trim();
  if (source === 'status') return source;
  const colon = source.indexOf(':');
  const kind = colon < 0 ? source : source.slice(0, colon);
  const rest = colon < 0 ? '' : source.slice(colon + 1);
  if (kind === 'json') {
    if (!JSON_PATH.test(rest))
      throw new ValueError(`bad JSON path ${JSON.stringify(rest)} (expected $, .name, ['name'] or [index] parts)`);
  } else if (kind === 'header') {
    if (!HEADER_NAME.test(rest)) throw new ValueError(`bad header name ${JSON.stringify(rest)}`);
  } else if (kind === 'body') {
    bodyRegex(rest);
  } else
    throw new ValueError(
      `unknown capture source ${JSON.stringify(source)} (expected json:$.path, header:Name, status or body:/regex/)`,
    );
  return source;
}

function bodyRegex(text: string): void {
  const m = /^\/(.*)\/([dimsuvy]*)$/s.exec(text);
  if (!m || m[1] === '') throw new ValueError(`body capture needs /regex/flags (got ${JSON.stringify(text)})`);
  const tooLong = regexLimitProblem(text);
  if (tooLong) throw new ValueError(tooLong);
  try {
    new RegExp(m[1] as string, m[2]);
  } catch (err) {
    throw new ValueError(`bad regular expression: ${(err as Error).message}`);
  }
}

/** One capture, as a record holds it; its name and source checked, and named in the complaint. */
export function captureValue(name: string, source: string): Capture {
  if (!CAPTURE_NAME.test(name))
    throw new ValueError(`capture name ${JSON.stringify(name)} must match [A-Za-z_][A-Za-z0-9_]*`);
  // {{id}} and {{name}} are the test's own fields: a capture of that name would hide one or the other
  if ((RECORD_TEMPLATE_NAMES as readonly string[]).includes(name))
    throw new ValueError(`capture name "${name}" is the test's own {{${name}}}; choose another name`);
  try {
    return { name, source: captureSourceValue(source) };
  } catch (err) {
    if (err instanceof ValueError) throw new ValueError(`capture ${name}: ${err.message}`);
    throw err;
  }
}

// A `;` followed by `name=` starts the next pair, so a body regex may hold a `;` of its own.
const PAIR_START = /;(?=\s*[A-Za-z_][A-Za-z0-9_]*\s*=)/;

/**
 * The `capture` cell: `name=source` pairs separated by `;`. Empty is none. A name captured
 * twice in one cell is refused (the second would silently win).
 */
export function captureCellValue(text: string): Capture[] {
  if (text.trim() === '') return [];
  const out: Capture[] = [];
  for (const part of text.split(PAIR_START)) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new ValueError(`expected name=source pairs separated by ; (got ${JSON.stringify(part.trim())})`);
    const capture = captureValue(part.slice(0, eq).trim(), part.slice(eq + 1));
    if (out.some((c) => c.name === capture.name)) throw new ValueError(`capture ${capture.name} given twice`);
    out.push(capture);
  }
  return out;
}

/** `setup`, `teardown`, or `test`/empty (a test: undefined), in any case. */
export function phaseValue(text: string): Phase | undefined {
  const value = text.trim().toLowerCase();
  if (value === '' || value === 'test') return undefined;
  if ((PHASES as readonly string[]).includes(value)) return value as Phase;
  throw new ValueError(`expected setup, test or teardown (got ${JSON.stringify(text.trim())})`);
}

/** A flow name: any text but blank; undefined when blank (no flow). */
export function flowValue(text: string): string | undefined {
  const value = text.trim();
  return value === '' ? undefined : value;
}

/** Whether a capture sits where it can be used: a flow's later rows, or (from setup) every row. */
export function flowPhaseProblem(flow: string | undefined, phase: Phase | undefined): string | null {
  if (flow !== undefined && phase !== undefined)
    return `a ${phase} row belongs to no flow (it runs in every process); remove its flow or its phase`;
  return null;
}
