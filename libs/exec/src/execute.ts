import {
  CapiError,
  describeEnvProblem,
  ExitCode,
  envProblem,
  formatShard,
  isErrnoException,
  isRelativeUrl,
  type Journal,
  missingRunVar,
  openJournal,
  RUN_VAR_PREFIX,
  type Shard,
  type TestRecord,
} from '@capi/core';
import { badLinesPath, setAsideBadLines } from './bad-lines.js';
import { watchControl } from './control.js';
import { type EngineOptions, runTests, type Summary } from './engine.js';
import { describeChange, fingerprint } from './fingerprint.js';
import { startHeartbeat } from './heartbeat.js';
import { type JournalLock, lockJournal } from './journal-lock.js';
import { createLiveState, type LiveState } from './live-state.js';
import { createRateLimiter } from './rate-limiter.js';
import type { ExecResult } from './result.js';
import { ChangeLog, checkMeta, FINGERPRINT_SCHEME, loadJournalState, metaPath, readMeta, writeMeta } from './resume.js';
import { readTestRecords, suiteRow } from './suite.js';
import { formatBaseUrl } from './target.js';
import { expand } from './template.js';

/** Everything capi-exec does around the engine: input, resume, journal, heartbeat, control. */
export interface ExecuteOptions extends Omit<EngineOptions, 'shard' | 'limiter'> {
  input: AsyncIterable<Buffer | string>;
  /** Name of the input in messages: a path or `<stdin>`. */
  source: string;
  /** A second read of the input (files only), to compare the suite with the journal before running. */
  reread: (() => AsyncIterable<Buffer | string>) | null;
  shard: Shard | null;
  journal: string | null;
  fsync: boolean;
  force: boolean;
  status: string | null;
  control: string | null;
  total: number | null;
  /** A line for people (stderr). */
  log: (line: string) => void;
  live?: LiveState;
}

export interface ExecuteSummary extends Summary {
  /** Tests skipped because the journal already had them. */
  resumed: number;
  /** Of those, how many had failed or errored (they count for the exit code). */
  resumedNotPassed: number;
}

/**
 * Where stdout results go, as the JSON text of the record (serialized once for the journal
 * and stdout both); awaited, so stdout backpressure holds the run.
 */
export type ResultOut = (json: string, result: ExecResult) => Promise<void> | void;

type RecordCheck = (rec: TestRecord) => string | null;

/**
 * A `{{env.NAME}}` that is not allowed or not set would end every test that uses it as a
 * TEMPLATE error (50,000 of them): it is bad input (exit 2) at the first record that uses
 * it, naming the variable, the test and its suite row. With `--in FILE` and a journal the
 * file is read before anything runs.
 */
function envCheck(opts: ExecuteOptions, done: Map<string, string>): RecordCheck {
  return (rec) => {
    if (!rec.enabled || done.has(rec.id)) return null;
    const problem = envProblem(rec, opts.env, opts.allowEnv);
    if (!problem) return null;
    const row = suiteRow(rec);
    return `field "${problem.field}": ${describeEnvProblem(problem)} (test ${JSON.stringify(rec.id)}${row ? `; ${row}` : ''})`;
  };
}

/** A `{{var.NAME}}` with no value would be a TEMPLATE error in every test: the same as an unset env. */
function runVarCheck(opts: ExecuteOptions, done: Map<string, string>): RecordCheck {
  return (rec) => {
    if (!rec.enabled || done.has(rec.id)) return null;
    const missing = missingRunVar(rec, opts.runVars);
    if (!missing) return null;
    const row = suiteRow(rec);
    const name = missing.name.slice(RUN_VAR_PREFIX.length);
    return `field "${missing.field}": {{${missing.name}}} has no value: give it with --var ${name}=… or --vars FILE (test ${JSON.stringify(rec.id)}${row ? `; ${row}` : ''})`;
  };
}

/** The checks of a record that would make the run itself wrong. */
function recordChecks(opts: ExecuteOptions, done: Map<string, string>): RecordCheck {
  const env = envCheck(opts, done);
  const vars = runVarCheck(opts, done);
  const base = baseUrlCheck(opts, done);
  return (rec) => env(rec) ?? vars(rec) ?? base?.(rec) ?? null;
}

/**
 * A test with a relative URL and no base URL could not run anywhere: that is a mistake in
 * the command, not a test result, so it is bad input (exit 2) at the record's line, found
 * as the record arrives and before it runs or is journaled (a journal of BAD_URL errors
 * would make the corrected rerun skip them all). Only tests that would run are checked:
 * not disabled ones, not those the journal already has.
 */
function baseUrlCheck(opts: ExecuteOptions, done: Map<string, string>): RecordCheck | undefined {
  if (opts.base) return undefined;
  return (rec) => {
    if (!rec.enabled || done.has(rec.id)) return null;
    let url = rec.request.url;
    if (url.includes('{{')) {
      try {
        const scope = { id: rec.id, name: rec.name, vars: rec.vars, runVars: opts.runVars, env: opts.env };
        url = expand(url, { ...scope, allow: opts.allowEnv }, 'request.url');
      } catch {
        return null; // a missing variable: the test's own TEMPLATE error
      }
    }
    if (!isRelativeUrl(url)) return null;
    const row = suiteRow(rec);
    // The URL as written, never expanded: an {{env.*}} value is a secret.
    return `field "request.url": relative URL ${JSON.stringify(rec.request.url)} of test ${JSON.stringify(rec.id)} needs --base-url or CAPI_BASE_URL${row ? ` (${row})` : ''}`;
  };
}

/**
 * Reads a suite file once before anything runs: a repeated id or a relative URL with no
 * base URL is refused before any test ran, and tests changed since the journal was
 * written are listed.
 */
async function compareSuite(opts: ExecuteOptions, done: Map<string, string>): Promise<ChangeLog> {
  const changes = new ChangeLog();
  if (!opts.reread) return changes;
  const check = recordChecks(opts, done);
  for await (const rec of readTestRecords(opts.reread(), opts.source, opts.shard, { unique: true, check })) {
    const fp = done.get(rec.id);
    if (fp && fp !== fingerprint(rec)) changes.add(rec.id, describeChange(fp, fingerprint(rec)));
  }
  return changes;
}

const refuse = (changes: ChangeLog) =>
  new CapiError(
    `cannot resume: ${changes.describe()} (--force resumes anyway; changed tests keep their journaled results)`,
    ExitCode.badInput,
  );

/** Skips tests the journal has; without a pre-read, refuses at the first changed one. */
async function* notDone(
  records: AsyncIterable<TestRecord>,
  done: Map<string, string>,
  notPassed: Set<string>,
  live: LiveState,
  opts: ExecuteOptions,
): AsyncGenerator<TestRecord> {
  for await (const rec of records) {
    const fp = done.get(rec.id);
    if (fp === undefined) {
      yield rec;
      continue;
    }
    if (fp !== '' && !opts.force && !opts.reread && fp !== fingerprint(rec)) {
      const changes = new ChangeLog();
      changes.add(rec.id, describeChange(fp, fingerprint(rec)));
      throw refuse(changes);
    }
    done.delete(rec.id);
    live.resumed++;
    if (notPassed.has(rec.id)) live.resumedNotPassed++;
  }
}

/**
 * A journal that cannot be read or opened (a folder, a path through a file, no permission)
 * is one line, `cannot open PATH: reason`, exit 3, before any test runs: as a file-system
 * error naming the journal, which the tool runner prints that way.
 */
const cannotOpen =
  (path: string) =>
  (err: unknown): never => {
    if (err instanceof CapiError || !isErrnoException(err)) throw err;
    throw Object.assign(new Error(`cannot open ${path}`), { code: err.code, syscall: 'open', path });
  };

async function readResume(opts: ExecuteOptions, journalPath: string) {
  const state = await loadJournalState(journalPath).catch(cannotOpen(journalPath));
  if (state.tornLine !== null)
    opts.log(`${journalPath}:${state.tornLine}: ignored a torn last line (a write cut short)`);
  if (state.bad.length > 0) {
    for (const err of state.bad.slice(0, 10)) opts.log(`warning: ${err.message}`);
    if (state.bad.length > 10) opts.log(`warning: … and ${state.bad.length - 10} more malformed lines`);
    await setAsideBadLines(journalPath, new Set(state.bad.map((e) => e.line as number))).catch(cannotOpen(journalPath));
    opts.log(
      `moved ${state.bad.length} malformed journal lines to ${badLinesPath(journalPath)}; the tests they held run again`,
    );
  }
  const shard = opts.shard ? formatShard(opts.shard) : null;
  const baseUrl = formatBaseUrl(opts.base);
  const meta = await readMeta(journalPath).catch(cannotOpen(metaPath(journalPath)));
  for (const p of checkMeta(
    journalPath,
    meta,
    { fingerprint: FINGERPRINT_SCHEME, shard, batch: opts.batch, baseUrl },
    opts.force,
    state.done.size,
  ))
    opts.log(`warning: ${p} (--force)`);
  const changes = await compareSuite(opts, state.done);
  if (changes.count > 0 && !opts.force) throw refuse(changes);
  if (changes.count > 0) opts.log(`warning: ${changes.describe()} (--force: not run again)`);
  if (state.done.size > 0) {
    opts.log(`resuming: ${state.done.size} tests in ${journalPath} are done and will not run again`);
  }
  // A journal without results starts afresh: its meta takes this run's base URL.
  const fresh = state.done.size === 0 && meta !== null && (meta.baseUrl ?? null) !== baseUrl;
  if (!meta || fresh)
    await writeMeta(journalPath, {
      version: 1,
      fingerprint: FINGERPRINT_SCHEME,
      shard,
      batch: opts.batch,
      baseUrl,
      created: new Date().toISOString(),
    }).catch(cannotOpen(metaPath(journalPath)));
  const journal = await openJournal(journalPath, { fsync: opts.fsync }).catch(cannotOpen(journalPath));
  return { done: state.done, notPassed: state.notPassed, answered: state.answered, journal };
}

/** Locks the journal before reading it (one capi-exec per journal), then reads it for the resume. */
async function openResume(opts: ExecuteOptions, journalPath: string) {
  const lock = await lockJournal(journalPath, opts.log).catch(cannotOpen(journalPath));
  try {
    return { ...(await readResume(opts, journalPath)), lock };
  } catch (err) {
    lock.release();
    throw err;
  }
}

export async function execute(opts: ExecuteOptions, out: ResultOut): Promise<ExecuteSummary> {
  const live = opts.live ?? createLiveState(opts.concurrency, opts.total);
  live.total ??= opts.total;
  let journal: Journal | null = null;
  let done = new Map<string, string>();
  let notPassed = new Set<string>();
  let lock: JournalLock | null = null;
  let answered = false;
  // The heartbeat starts before the journal is read: a resume of a large journal takes a
  // while, and capi-launch's stall watchdog judges a worker by its heartbeat.
  const heartbeat = opts.status ? startHeartbeat(opts.status, live, opts.batch, opts.log) : null;
  try {
    if (opts.journal) ({ journal, done, notPassed, lock, answered } = await openResume(opts, opts.journal));
    return await run({ ...opts, answeredBefore: answered }, out, live, journal, done, notPassed);
  } catch (err) {
    if (live.state === 'starting') live.state = 'failed';
    throw err;
  } finally {
    lock?.release();
    await heartbeat?.final();
  }
}

async function run(
  opts: ExecuteOptions,
  out: ResultOut,
  live: LiveState,
  journal: Journal | null,
  done: Map<string, string>,
  notPassed: Set<string>,
): Promise<ExecuteSummary> {
  const limiter = createRateLimiter(opts.rate, undefined, opts.maxPauseMs);
  const control = opts.control
    ? watchControl(opts.control, live, limiter, { rate: opts.rate, concurrency: opts.concurrency })
    : null;
  await control?.poll();
  const shard = opts.shard ? formatShard(opts.shard) : null;
  // With a journal, ids must be unique (it holds each id once); a file was checked before anything ran.
  let records: AsyncIterable<TestRecord> = readTestRecords(opts.input, opts.source, opts.shard, {
    unique: journal !== null,
    check: recordChecks(opts, done),
  });
  if (done.size > 0) records = notDone(records, done, notPassed, live, opts);
  const sink = journal
    ? async (r: ExecResult) => {
        const json = JSON.stringify(r);
        // The journal first: a test counts as done only once it is there.
        await (journal as Journal).appendLine(json);
        await out(json, r);
      }
    : (r: ExecResult) => out(JSON.stringify(r), r);
  let summary: Summary | null = null;
  try {
    const engine = { ...opts, shard, limiter, fingerprints: journal !== null, warn: opts.warn ?? opts.log };
    summary = await runTests(records, engine, sink, live);
  } finally {
    control?.stop();
    live.state = !summary
      ? 'failed'
      : summary.stoppedBy === 'stop'
        ? 'stopped'
        : summary.stoppedBy
          ? 'failed'
          : 'completed';
    await journal?.close();
  }
  if (summary.stoppedBy === null && live.resumed > 0 && done.size > 0)
    opts.log(`note: ${done.size} ids in the journal are not in this suite`);
  return { ...summary, resumed: live.resumed, resumedNotPassed: live.resumedNotPassed };
}
