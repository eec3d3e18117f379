import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type BatchIndex,
  describeEnvProblem,
  type EnvAllow,
  envNamesIn,
  envProblem,
  InputError,
  MIN_SECRET_LENGTH,
  normalizeTestRecord,
  parseAllowEnv,
  readNdjson,
  runPaths,
  type TestRecord,
  UsageError,
} from '@capi/core';
import { hasBaseUrl } from './base-url.js';
import { execArgValues } from './exec-flag-list.js';
import { suiteFormat } from './suite-format.js';

/**
 * `{{env.NAME}}` that the workers cannot read (not set, or not allowed by `--allow-env`
 * and not `CAPI_…`) would end every test using it as a TEMPLATE error, in every batch,
 * overnight. capi-launch looks before anything starts: exit 2 naming the variable and the
 * first suite row that uses it. The same rule as capi-exec's (core env-access.ts).
 */

/** CSV column names of the record fields, for messages about a CSV suite. */
const CSV_FIELD: Record<string, string> = {
  'request.url': 'url',
  'request.body': 'body',
  'expect.status': 'expect_status',
  'expect.body': 'expect_body',
  'expect.json': 'expect_json',
};

const fieldName = (field: string, csv: boolean) =>
  !csv ? field : field.startsWith('request.headers.') ? 'headers' : (CSV_FIELD[field] ?? field);

/**
 * What every `{{env.NAME}}` holds, as capi-split writes its records (it spells no letter as a
 * `\u` escape): a record or a batch file without it names no variable.
 */
const ENV_TEXT = 'env.';
const ENV_MARK = Buffer.from(ENV_TEXT);

/** Whether a record line capi-split wrote may name an env variable (`mentionsEnv`'s rule, for one line). */
export const lineMentionsEnv = (line: string): boolean => line.includes(ENV_TEXT);
/** One read buffer for every batch file: no string is made of a file that has no `env.` in it. */
const pool = Buffer.allocUnsafe(1024 * 1024);

/**
 * Whether a file holds `env.` at all: a suite without it needs no record-by-record look.
 * Every batch file is read here before the first test, so the bytes are searched where
 * they were read (no latin1 string made of each file, no stream's open/read/close round
 * trips): for 100,000 tests (339 files, 28 MB) 20-26 ms of CPU instead of 80-94 ms as
 * strings, 60-160 ms for 80 files as streams.
 */
export function mentionsEnv(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    let kept = 0; // the last bytes of the chunk before: a mark cut in two by a read
    for (;;) {
      const n = readSync(fd, pool, kept, pool.length - kept, null);
      if (n === 0) return false;
      const end = kept + n;
      if (pool.subarray(0, end).indexOf(ENV_MARK) !== -1) return true;
      kept = Math.min(ENV_MARK.length - 1, end);
      pool.copy(pool, 0, end - kept, end);
    }
  } finally {
    closeSync(fd);
  }
}

/** A JSON escape (`\u0065nv.` is `env.`): a suite with one may spell a template `env.` never shows. */
const ESCAPE_MARK = Buffer.from('\\u');

/**
 * Looks for what could become `{{env.…}}` in a record split from a suite: the bytes `env.`,
 * or a JSON `\u` escape (an NDJSON suite's strings, a CSV cell holding JSON) that could
 * spell them. capi-split copies every other value as it reads it (CSV quotes undone; case
 * changed only in methods and statuses, which hold no template), so a suite with neither
 * splits into batches with no `env.` in any template: `refuseMissingEnv` need not read
 * them (for 1,000,000 tests, 1,250 files and some 270 MB against the suite's 19 MB).
 * Chunks are pushed in order; a mark cut in two between chunks is found.
 */
export function envMarkScanner(): { push(chunk: Buffer): void; readonly found: boolean } {
  let found = false;
  let tail = Buffer.alloc(0); // the last bytes of the chunk before (at most 3)
  return {
    push(chunk) {
      if (found || chunk.length === 0) return;
      const joined = tail.length > 0 ? Buffer.concat([tail, chunk.subarray(0, ENV_MARK.length - 1)]) : null;
      if (
        (joined && (joined.indexOf(ENV_MARK) !== -1 || joined.indexOf(ESCAPE_MARK) !== -1)) ||
        chunk.indexOf(ENV_MARK) !== -1 ||
        chunk.indexOf(ESCAPE_MARK) !== -1
      ) {
        found = true;
        return;
      }
      const keep = Math.min(ENV_MARK.length - 1, chunk.length);
      tail = Buffer.concat([tail, chunk.subarray(chunk.length - keep)]).subarray(-(ENV_MARK.length - 1));
    },
    get found() {
      return found;
    },
  };
}

export interface EnvCheck {
  runDir: string;
  index: BatchIndex;
  /**
   * False when the batches were split from a suite whose bytes hold neither `env.` nor a
   * `\u` escape (envMarkScanner): no record can name an env variable, and the batch files
   * are not read. Default true: each batch file is searched.
   */
  batchesMayUseEnv?: boolean;
  /** The suite as the user named it. */
  suite: string;
  execArgs: string[];
  env: NodeJS.ProcessEnv;
  notes?: (line: string) => void;
}

/**
 * The operator's side of the rule, checked before any record: `--allow-env` parsed, and each
 * `--header`'s base URL and `{{env.NAME}}` (any variable, but set). Returns the allow rule
 * for the records, and the names read so far whose values are too short to redact.
 */
export function operatorEnv(execArgs: string[], env: NodeJS.ProcessEnv): { allow: EnvAllow; short: Set<string> } {
  const allow = parseAllowEnv(execArgValues(execArgs, '--allow-env'));
  if (typeof allow === 'string') throw new UsageError(allow);
  const headers = execArgValues(execArgs, '--header');
  // capi-exec refuses this in every worker: say it once, here
  if (headers.length > 0 && !hasBaseUrl(execArgs, env) && !execArgs.includes('--header-all-origins'))
    throw new UsageError(
      '--header values are sent to the --base-url origin only: give --base-url (or CAPI_BASE_URL), or --header-all-origins to send them to every origin',
    );
  const short = new Set<string>();
  for (const h of headers)
    for (const name of envNamesIn(h)) {
      if (env[name] === undefined)
        throw new UsageError(`--header "${h.split(':', 1)[0]}": {{env.${name}}} is not set in the environment`);
      noteShort(short, name, env);
    }
  return { allow, short };
}

function noteShort(short: Set<string>, name: string, env: NodeJS.ProcessEnv): void {
  const v = env[name];
  if (v !== undefined && v.length < MIN_SECRET_LENGTH) short.add(name);
}

/**
 * An enabled record split from `suite` whose `{{env.NAME}}` the workers cannot read: the
 * refusal, naming the suite row (or the test), else null. `csv`: the suite is CSV, so
 * fields are named by their columns.
 */
export function recordEnvRefusal(
  rec: TestRecord,
  suite: string,
  csv: boolean,
  env: NodeJS.ProcessEnv,
  allow: EnvAllow,
): InputError | null {
  const problem = envProblem(rec, env, allow);
  if (!problem) return null;
  const from = rec.source?.file;
  const name = !from || resolve(from) === resolve(suite) ? suite : from;
  const line = rec.source?.line ?? undefined;
  return new InputError(
    name,
    line,
    `field "${fieldName(problem.field, csv && line !== undefined)}": ${describeEnvProblem(problem)}${line ? '' : ` (test ${JSON.stringify(rec.id)})`}`,
  );
}

/** Refuses the first `{{env.NAME}}` the workers cannot read; notes env values too short to redact. */
export async function refuseMissingEnv(o: EnvCheck): Promise<void> {
  const { allow, short } = operatorEnv(o.execArgs, o.env);
  if (o.batchesMayUseEnv === false) return noteShortValues(short, o.notes);
  const csv = (await suiteFormat(resolve(o.suite))) === 'csv';
  // once, not per batch: runPaths resolves and joins some twenty paths (1,250 batches for a million tests)
  const paths = runPaths(o.runDir);
  for (const b of o.index.batches) {
    const file = paths.batchFile(b.batch);
    if (!mentionsEnv(file)) continue;
    for await (const { value } of readNdjson(createReadStream(file), { source: file })) {
      const rec = normalizeTestRecord(value as Record<string, unknown>, 0);
      if (!rec.enabled) continue;
      const refusal = recordEnvRefusal(rec, o.suite, csv, o.env, allow);
      if (refusal) throw refusal;
      if (o.notes) noteShortInRecord(short, rec, o.env);
    }
  }
  noteShortValues(short, o.notes);
}

/** Adds to `short` each `{{env.NAME}}` an enabled record reads whose value is too short to redact. */
export function noteShortInRecord(short: Set<string>, rec: TestRecord, env: NodeJS.ProcessEnv): void {
  for (const name of envNamesIn(JSON.stringify(rec.request) + JSON.stringify(rec.expect))) noteShort(short, name, env);
}

/**
 * The launch's warning for each value too short to redact (`operatorEnv`'s and
 * `noteShortInRecord`'s names), said by the launch and by `--dry-run` alike.
 */
export function noteShortValues(short: ReadonlySet<string>, notes: ((line: string) => void) | undefined): void {
  for (const name of short)
    notes?.(
      `warning: {{env.${name}}} is shorter than ${MIN_SECRET_LENGTH} characters and is not redacted (pass plain values with --var)`,
    );
}
