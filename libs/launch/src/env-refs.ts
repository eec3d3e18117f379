import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type BatchIndex,
  describeEnvProblem,
  envNamesIn,
  envProblem,
  InputError,
  MIN_SECRET_LENGTH,
  normalizeTestRecord,
  parseAllowEnv,
  readNdjson,
  runPaths,
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

const ENV_MARK = Buffer.from('env.');
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

export interface EnvCheck {
  runDir: string;
  index: BatchIndex;
  /** The suite as the user named it. */
  suite: string;
  execArgs: string[];
  env: NodeJS.ProcessEnv;
  notes?: (line: string) => void;
}

/** Refuses the first `{{env.NAME}}` the workers cannot read; notes env values too short to redact. */
export async function refuseMissingEnv(o: EnvCheck): Promise<void> {
  const allow = parseAllowEnv(execArgValues(o.execArgs, '--allow-env'));
  if (typeof allow === 'string') throw new UsageError(allow);
  const headers = execArgValues(o.execArgs, '--header');
  // capi-exec refuses this in every worker: say it once, here
  if (headers.length > 0 && !hasBaseUrl(o.execArgs, o.env) && !o.execArgs.includes('--header-all-origins'))
    throw new UsageError(
      '--header values are sent to the --base-url origin only: give --base-url (or CAPI_BASE_URL), or --header-all-origins to send them to every origin',
    );
  const short = new Set<string>();
  const noteShort = (name: string) => {
    const v = o.env[name];
    if (v !== undefined && v.length < MIN_SECRET_LENGTH) short.add(name);
  };
  for (const h of headers)
    for (const name of envNamesIn(h)) {
      if (o.env[name] === undefined)
        throw new UsageError(`--header "${h.split(':', 1)[0]}": {{env.${name}}} is not set in the environment`);
      noteShort(name);
    }
  const csv = (await suiteFormat(resolve(o.suite))) === 'csv';
  for (const b of o.index.batches) {
    const file = runPaths(o.runDir).batchFile(b.batch);
    if (!mentionsEnv(file)) continue;
    for await (const { value } of readNdjson(createReadStream(file), { source: file })) {
      const rec = normalizeTestRecord(value as Record<string, unknown>, 0);
      if (!rec.enabled) continue;
      const problem = envProblem(rec, o.env, allow);
      if (problem) {
        const from = rec.source?.file;
        const name = !from || resolve(from) === resolve(o.suite) ? o.suite : from;
        const line = rec.source?.line ?? undefined;
        throw new InputError(
          name,
          line,
          `field "${fieldName(problem.field, csv && line !== undefined)}": ${describeEnvProblem(problem)}${line ? '' : ` (test ${JSON.stringify(rec.id)})`}`,
        );
      }
      if (o.notes)
        for (const name of envNamesIn(JSON.stringify(rec.request) + JSON.stringify(rec.expect))) noteShort(name);
    }
  }
  for (const name of short)
    o.notes?.(
      `warning: {{env.${name}}} is shorter than ${MIN_SECRET_LENGTH} characters and is not redacted (pass plain values with --var)`,
    );
}
