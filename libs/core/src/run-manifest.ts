import { open } from 'node:fs/promises';
import { CapiError, fsReason, isErrnoException } from './errors.js';
import { ExitCode } from './exit-code.js';
import { RUN_STATES, type RunManifest } from './records.js';

/**
 * run.json (docs/run-folder.md) read and its shape checked, in one place, for every tool that
 * reads it (capi-launch, capi-watch, capi-merge). capi-launch writes it whole and atomically,
 * so a file that is not this shape was edited or damaged by hand: it is named with its field
 * (exit 2) before anything acts on it, never met later as a TypeError.
 */

/** run.json holds a run's flags and counts, a few KiB; a bigger file is not one capi wrote. */
export const RUN_MANIFEST_MAX_BYTES = 1 << 20;

const METHODS = ['nohup', 'screen', 'tmux', 'foreground', 'exec'];
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
const shown = (v: unknown) => (v === undefined ? 'missing' : `${JSON.stringify(v)?.slice(0, 40)}`);
const oneOf = (list: readonly string[]) => `one of ${list.join(', ')}`;

type Check = [field: string, ok: (v: unknown) => boolean, want: string];

/** `ok`, or absent: test fixtures and older versions leave fields out that no reader needs. */
const opt =
  (ok: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    v === undefined || ok(v);
const orNull = (ok: (v: unknown) => boolean) => opt((v) => v === null || ok(v));
const isText = (v: unknown) => typeof v === 'string';

/**
 * Every field a reader relies on. `id` and `state` (and `suite.file`, `options` below) must
 * be there: every action starts from them. The others are checked when present: what is
 * there has its type, so no reader meets a word where a number belongs.
 */
const TOP: Check[] = [
  ['id', (v) => typeof v === 'string' && v !== '', 'a run id'],
  ['state', (v) => typeof v === 'string' && (RUN_STATES as readonly string[]).includes(v), oneOf(RUN_STATES)],
  ['method', opt((v) => typeof v === 'string' && METHODS.includes(v)), oneOf(METHODS)],
  ['total', opt((v) => count(v, 0)), 'a whole number of tests'],
  ['batches', opt((v) => count(v, 0)), 'a whole number of batches'],
  ['batchSize', opt((v) => count(v, 1)), 'a whole number of tests, 1 or more'],
  ['maxBatchSize', opt((v) => count(v, 1)), 'a whole number of tests, 1 or more'],
  ['parallel', opt((v) => count(v, 1)), 'a whole number of workers, 1 or more'],
  ['created', opt(isText), 'a time (ISO text)'],
  ['pid', orNull((v) => count(v, 1)), 'a process id or null'],
  ['session', orNull(isText), 'a session name or null'],
  ['verdict', orNull((v) => v === 'passed' || v === 'failed'), 'passed, failed or null'],
  ['finished', orNull(isText), 'a time (ISO text) or null'],
  ['stopSignal', orNull((v) => STOP_SIGNALS.includes(v as string)), oneOf(STOP_SIGNALS)],
];

const SUITE: Check[] = [
  ['file', (v) => typeof v === 'string' && v !== '', 'the suite file path'],
  ['sha256', opt(isText), 'the suite sha256 (hex text)'],
  ['envMarks', opt((v) => typeof v === 'boolean'), 'true or false'],
];

/** `options`: what capi-launch kept of the launch's flags. */
const OPTIONS: Check[] = [
  ['execArgs', opt((v) => Array.isArray(v) && v.every(isText)), 'a list of strings'],
  ['rate', orNull(isText), 'a rate text or null'],
  ['concurrency', orNull((v) => count(v, 1)), 'a whole number or null'],
  ['maxRestarts', opt((v) => count(v, 0)), 'a whole number'],
  ['onFinish', orNull(isText), 'a command or null'],
  ['stallTimeoutS', orNull((v) => typeof v === 'number' && v >= 0), 'seconds or null'],
  ['remote', orNull(isObject), 'an object or null'],
];

function firstProblem(o: Record<string, unknown>, checks: Check[], prefix: string): string | null {
  for (const [field, ok, want] of checks)
    if (!ok(o[field]))
      return `field "${prefix}${field}": ${o[field] === undefined ? 'missing' : 'not'} ${want}${o[field] === undefined ? '' : ` (${shown(o[field])})`}`;
  return null;
}

/** What makes `m` no run.json as capi writes it (the first field that is wrong), or null. */
export function runManifestProblem(m: unknown): string | null {
  if (!isObject(m)) return `not a JSON object (${Array.isArray(m) ? 'a list' : shown(m)})`;
  const top = firstProblem(m, TOP, '');
  if (top) return top;
  if (!isObject(m.suite)) return `field "suite": ${m.suite === undefined ? 'missing' : 'not an object'}`;
  const suite = firstProblem(m.suite, SUITE, 'suite.');
  if (suite) return suite;
  if (!isObject(m.options)) return `field "options": ${m.options === undefined ? 'missing' : 'not an object'}`;
  return firstProblem(m.options, OPTIONS, 'options.');
}

/** What to do with a damaged run.json: said by the refusal and by a listing that skips the run. */
export const RUN_MANIFEST_REMEDY = 'capi-launch writes this file (docs/run-folder.md); restore it, or remove the run';

/** A damaged run.json (exit 2): its path, the field, and what to do; listings skip such a run, naming it. */
export class RunManifestError extends CapiError {
  readonly path: string;
  readonly problem: string;
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}: ${RUN_MANIFEST_REMEDY}`, ExitCode.badInput);
    this.name = 'RunManifestError';
    this.path = path;
    this.problem = problem;
  }
}

async function readSmall(path: string): Promise<string> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    if (size > RUN_MANIFEST_MAX_BYTES)
      throw new RunManifestError(path, `${size} bytes, more than a run.json holds (${RUN_MANIFEST_MAX_BYTES})`);
    return await file.readFile('utf8');
  } finally {
    await file.close();
  }
}

/**
 * `path`'s run.json, its shape checked (`runManifestProblem`): missing (ENOENT) is
 * `no such file` (exit 2), damaged is named with its field (exit 2), unreadable is the
 * file-system reason (exit 3).
 */
export async function readRunManifest(path: string): Promise<RunManifest> {
  let text: string;
  try {
    text = await readSmall(path);
  } catch (err) {
    if (err instanceof CapiError) throw err;
    const code = isErrnoException(err) ? err.code : undefined;
    if (code === 'ENOENT') throw new CapiError(`${path}: no such file`, ExitCode.badInput);
    const exit = code === 'EISDIR' ? ExitCode.badInput : ExitCode.cannotRun;
    throw new CapiError(`cannot read ${path}: ${fsReason(code)}`, exit);
  }
  if (text.trim() === '') throw new RunManifestError(path, 'empty');
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new RunManifestError(path, `malformed JSON: ${(err as Error).message}`);
  }
  const problem = runManifestProblem(m);
  if (problem) throw new RunManifestError(path, problem);
  return m as RunManifest;
}
