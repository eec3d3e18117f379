import { readFileSync, statSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CapiError, ExitCode, fsReason, InputError, isErrnoException, runPaths, UsageError } from '@capi/core';
import { cleanRun } from './clean.js';
import { writeCsvReport } from './csv-report.js';
import { writeHtmlReport } from './html-report.js';
import { writeJsonReport, writeMergedNdjson } from './json-report.js';
import { writeJunitReport } from './junit-report.js';
import { addExpected, createMergeState, type MergeState } from './merge-state.js';
import { type OutputChoices, type Outputs, planOutputs } from './outputs.js';
import { readResultFile, readResultStream } from './read-results.js';
import { replaceReportSet } from './report-set.js';
import { type RunFolderFiles, readRunFolder } from './run-folder.js';
import { openSink, type Sink } from './sink.js';
import { type MergeInput, resolveInputs } from './sources.js';
import { readBatchFile, readSuite } from './suite.js';
import { type Counts, type Summary, summarizeMerge } from './summary.js';
import { textReport } from './text-report.js';
import { evaluateThresholds, parseThreshold, type ThresholdResult, verdictOf } from './thresholds.js';

export interface MergeOptions extends OutputChoices {
  /** Run folders, result files, globs, or `-` for stdin; none means stdin. */
  inputs: string[];
  cwd?: string;
  /** A suite (CSV or NDJSON test records) whose ids must all have a result. */
  suite?: string;
  /** The suite CSV's rows without an id are `row-<line>`, as capi-split `--auto-id` names them. */
  autoId?: boolean;
  /** Where the default reports go (`--report-dir`): by default a run's report/, required for several runs. */
  reportDir?: string;
  /** A malformed result line is warned about, counted and skipped instead of ending the merge (exit 2). */
  skipBadLines?: boolean;
  /** `--fail-if` expressions. */
  failIf?: string[];
  stdin?: Readable;
  stdout?: Writable;
  /** Warnings for people (torn lines, what --clean did not do). */
  warn?: (message: string) => void;
}

export interface MergeOutcome {
  verdict: 'passed' | 'failed';
  exitCode: number;
  counts: Counts;
  summary: Summary;
  thresholds: ThresholdResult[];
  /** The files written, by kind (`-` for stdout). */
  outputs: Outputs;
  /** What --clean removed (paths). */
  cleaned: string[];
  /** Malformed result lines skipped with `--skip-bad-lines` (each one warned about). */
  skippedLines: number;
  /** The earlier timestamped reports this merge's set replaced (names in the report folder). */
  replaced: string[];
  /** mergeAfterGo: the batch files and suite read before the go were kept (unchanged since). */
  readAhead?: boolean;
}

/** Reads every input; returns how many malformed lines `--skip-bad-lines` skipped (each one warned about). */
async function readInputs(
  state: MergeState,
  inputs: MergeInput[],
  runs: RunFolderFiles[],
  opts: MergeOptions,
  done: Done = NONE_DONE,
): Promise<number> {
  const warn = opts.warn ?? (() => {});
  let skipped = done.skipped;
  const onBadLine = opts.skipBadLines
    ? (err: InputError) => {
        skipped++;
        warn(`${err.message} (skipped: --skip-bad-lines)`);
      }
    : undefined;
  for (const input of inputs) {
    if (input.kind === 'stdin') await readResultStream(state, opts.stdin ?? process.stdin, '<stdin>', onBadLine);
    else if (input.kind === 'file') await readResultFile(state, input.path, input.label, warn, onBadLine);
    else {
      const run = runs.find((r) => r.dir === resolve(input.dir)) as RunFolderFiles;
      const from = inputs.length === 1 ? done.journals : 0;
      for (const file of run.resultFiles.slice(from))
        await readResultFile(state, file, labelIn(input, file), warn, onBadLine);
    }
  }
  return skipped;
}

/** What the early read of `--after-go` took of the results: the run's first journals, and the lines it skipped. */
interface Done {
  journals: number;
  skipped: number;
}
const NONE_DONE: Done = { journals: 0, skipped: 0 };

function labelIn(input: MergeInput & { kind: 'run' }, file: string): string {
  return `${input.label}/${file.slice(input.dir.length + 1)}`;
}

/**
 * The suite's bytes: a file, or stdin for `-`. A missing path or a folder is bad input
 * (exit 2) named as the user wrote it; a file that exists but cannot be read is exit 3.
 */
async function openSuite(suite: string, opts: MergeOptions, cwd: string): Promise<AsyncIterable<Buffer>> {
  if (suite === '-') return opts.stdin ?? process.stdin;
  let fh: FileHandle;
  try {
    fh = await open(resolve(cwd, suite), 'r');
  } catch (err) {
    if (isErrnoException(err) && (err.code === 'ENOENT' || err.code === 'ENOTDIR'))
      throw new InputError(suite, undefined, 'no such file');
    throw new CapiError(
      `cannot read ${suite}: ${fsReason(isErrnoException(err) ? err.code : undefined)}`,
      ExitCode.cannotRun,
    );
  }
  if ((await fh.stat()).isDirectory()) {
    await fh.close();
    throw new InputError(suite, undefined, "is a folder: --suite takes a suite file (the CSV or capi-split's NDJSON)");
  }
  return fh.createReadStream();
}

async function readExpected(
  state: MergeState,
  inputs: MergeInput[],
  runs: RunFolderFiles[],
  opts: MergeOptions,
  cwd: string,
  /** `--after-go`'s early read: true once stdin ended without a go, and the read is to stop. */
  noGo: () => boolean = () => false,
) {
  const suite = opts.suite;
  if (suite) {
    const label = suite === '-' ? '<stdin>' : suite;
    for await (const t of readSuite(await openSuite(suite, opts, cwd), label, opts.autoId)) {
      // The suite is read first: an id already in the table was named earlier in it (capi-split refuses it too).
      if (!t.phase && state.tests.indexOf(t.id) !== undefined)
        throw new InputError(label, t.line, `duplicate id ${JSON.stringify(t.id)}: the suite names it twice`);
      addExpected(state, t);
    }
  }
  for (const [i, run] of runs.entries()) {
    const input = inputs.filter((x) => x.kind === 'run')[i] as MergeInput & { kind: 'run' };
    for (const b of run.batchFiles) {
      if (noGo()) throw new Error('no go');
      await readBatchFile(b.path, labelIn(input, b.path), b.batch, state);
    }
  }
}

/** Merges results from any inputs into one set of tests and writes the reports. */
export async function merge(opts: MergeOptions): Promise<MergeOutcome> {
  return (await mergeWith(opts, { early: null })) as MergeOutcome;
}

/**
 * `--after-go` (docs/capi-merge.md): what the merge reads that is not a journal (the
 * run's batch files, the suite) is read now, then nothing until `go()` resolves: true
 * when the journals are complete, false when there will be no merge (null is returned,
 * nothing written). After the go every input is resolved again; the early read is kept
 * only when the same batch files and suite are there, each with the same stamp (device,
 * inode, size, modification and change times) as before it was read, none changed while
 * it was read or in the second before it; otherwise everything is read again after the
 * go, as without the early read. An early read that fails is dropped: the merge after
 * the go meets the same failure and says so as it always did.
 */
export async function mergeAfterGo(
  opts: MergeOptions,
  go: () => Promise<boolean>,
  /** True once it is known there will be no go (stdin ended): the early read stops between two files. */
  noGo: () => boolean = () => false,
  /**
   * Settles when the go line comes or stdin ends (capi-merge's wait for it). Given, the
   * early read waits for what is not complete yet (batch files written in the last second,
   * the next journal) until it settles, instead of stopping there: capi-launch starts its
   * merge with the run's first batches, and the journals are read as their batches end.
   */
  until?: Promise<unknown>,
): Promise<MergeOutcome | null> {
  let early: Early | null = null;
  try {
    early = await readAhead(opts, noGo, until ? waiter(until) : null);
  } catch {
    early = null;
  }
  let ok = false;
  try {
    ok = await go();
  } finally {
    if (!ok) early?.state.tests.close();
  }
  if (!ok) return null;
  // Handed over in a box, not held here: a dropped early read's table must be garbage
  // while everything is read again (one table in memory, not two).
  const box = { early };
  early = null;
  const outcome = await mergeWith(opts, box);
  outcome.readAhead ??= false;
  return outcome;
}

/** Inputs resolved, run folders listed and the outputs planned: everything before a row is read. */
interface Setup extends Plan {
  key: string;
}

async function setUp(opts: MergeOptions): Promise<Setup> {
  const cwd = opts.cwd ?? process.cwd();
  const thresholds = (opts.failIf ?? []).map(parseThreshold);
  const inputs =
    opts.inputs.length > 0 ? await resolveInputs(opts.inputs, cwd) : [{ kind: 'stdin' as const, label: '<stdin>' }];
  if (opts.suite === '-' && inputs.some((i) => i.kind === 'stdin'))
    throw new UsageError(
      '--suite - reads the suite from stdin, so results cannot come from stdin too: name result files or a run folder',
    );
  const runInputs = inputs.filter((i) => i.kind === 'run');
  if (opts.clean && (runInputs.length !== 1 || inputs.length !== 1))
    throw new UsageError('--clean needs exactly one run folder and no other input');
  const runs = await Promise.all(runInputs.map((i) => readRunFolder(i.dir, i.label)));
  const defaultSet = [opts.outputJson, opts.outputCsv, opts.outputReport].every((v) => v === undefined || v === '');
  if (runs.length > 1 && !opts.reportDir && defaultSet)
    throw new UsageError(
      `merging ${runs.length} runs needs an output folder: --report-dir DIR (the reports of one run are never written into another's report/)`,
    );
  const reportDir = opts.reportDir ? resolve(cwd, opts.reportDir) : runs[0] ? runPaths(runs[0].dir).report : cwd;
  const outputs = planOutputs(opts, reportDir, cwd, runs.length > 0 || !!opts.reportDir);
  // What readExpected reads and how the table renders rows: the early read is kept only when these are the same.
  const key = JSON.stringify([
    inputs,
    runs.map((r) => r.batchFiles),
    opts.suite ? resolve(cwd, opts.suite) : null,
    tableOptions(outputs),
  ]);
  return { cwd, thresholds, inputs, runs, defaultSet, reportDir, outputs, key };
}

function tableOptions(outputs: Outputs) {
  // Only the text summary: no report lists every row, so rows that passed keep their name only.
  const listsRows = [outputs.json, outputs.csv, outputs.ndjson, outputs.junit, outputs.html, outputs.merged];
  return { csv: outputs.csv !== undefined, short: listsRows.every((o) => o === undefined) };
}

/** What the early read of `--after-go` read, and the stamp of each file it read. */
interface Early {
  key: string;
  state: MergeState;
  stamps: Array<{ path: string; stamp: string }>;
  /** The run's journals read early: the first of its sorted list. */
  journals: string[];
  /** The malformed lines `--skip-bad-lines` skipped in them. */
  skipped: number;
  /** What the early read warned about, said after the go when the read is kept. */
  warnings: string[];
}

/** A file's identity and last change, as a string; null when it is not a regular file (not read early). */
function stampOf(path: string): string | null {
  return lookAt(path)?.stamp ?? null;
}

/**
 * A regular file's stamp, and whether it is settled: a file changed in the last second may
 * still change within the file system's timestamp granularity. Null: not a regular file.
 * One stat for both.
 */
function lookAt(path: string): { stamp: string; settled: boolean } | null {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false });
  if (!s?.isFile()) return null;
  const limit = BigInt(Date.now() - 1000) * 1_000_000n;
  return {
    stamp: `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`,
    settled: s.mtimeNs < limit && s.ctimeNs < limit,
  };
}

/**
 * A journal is read early only once its batch's claim says `done` (docs/run-folder.md):
 * no worker appends to it after that. A journal that is only quiet (a slow test, a retry's
 * backoff) and then grows would make the whole early read be dropped and read again, with
 * two tables in memory for a moment (a million tests: some 170-200 MB).
 */
function batchDone(runDir: string, journal: string): boolean {
  try {
    const claim = JSON.parse(readFileSync(runPaths(runDir).claimFile(basename(journal, '.ndjson')), 'utf8')) as {
      state?: unknown;
    };
    return claim.state === 'done';
  } catch {
    return false;
  }
}

/**
 * How often a merge that waits for its go looks again at what it waits for (a journal's
 * batch to end, a batch file to settle): a stat and a claim's read, a few times a second.
 */
const LOOK_AGAIN_MS = 200;

/** The early read's wait for more: resolves true once the go (or stdin's end) has come, else after a look's pause. */
type Waiter = () => Promise<boolean>;

function waiter(until: Promise<unknown>): Waiter {
  let came = false;
  const settled = until.then(
    () => {
      came = true;
    },
    () => {
      came = true;
    },
  );
  return async () => {
    if (came) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise<void>((r) => (timer = setTimeout(r, LOOK_AGAIN_MS)))]);
    clearTimeout(timer);
    return came;
  };
}

async function readAhead(opts: MergeOptions, noGo: () => boolean, wait: Waiter | null): Promise<Early | null> {
  if (opts.suite === '-') return null;
  const setup = await setUp(opts);
  const paths = [
    ...(opts.suite ? [resolve(setup.cwd, opts.suite)] : []),
    ...setup.runs.flatMap((r) => r.batchFiles.map((b) => b.path)),
  ];
  const stamps: Early['stamps'] = [];
  for (const path of paths) {
    let look = lookAt(path);
    // written in the last second (a merge started as the split ended): waited out, when the merge may wait
    while (look?.settled === false && wait && !noGo() && !(await wait())) look = lookAt(path);
    if (look === null || !look.settled) return null;
    stamps.push({ path, stamp: look.stamp });
  }
  const state = createMergeState(tableOptions(setup.outputs));
  const warnings: string[] = [];
  const journals: string[] = [];
  let skipped = 0;
  try {
    await readExpected(state, setup.inputs, setup.runs, opts, setup.cwd, noGo);
    // changed while it was read: read again after the go
    if (stamps.some((s) => stampOf(s.path) !== s.stamp)) throw new Error('changed');
    // One run folder (capi-launch's merge): its journals that are complete already, in
    // order, up to the first one written in the last second (a batch still running).
    const input = setup.inputs[0];
    const run = setup.runs[0];
    if (setup.inputs.length === 1 && input?.kind === 'run' && run) {
      const onBadLine = opts.skipBadLines
        ? (err: InputError) => {
            skipped++;
            warnings.push(`${err.message} (skipped: --skip-bad-lines)`);
          }
        : undefined;
      // In batch order (the order the run claims them, and the journals' names sort in):
      // at a journal that is not complete yet (its batch not ended, or not started: a
      // journal appears only when its batch starts, and a later batch can end first) it
      // stops, or, when the merge may wait, looks again until the go.
      for (const { batch } of run.batchFiles) {
        const file = runPaths(run.dir).resultFile(batch);
        const complete = () => {
          const look = lookAt(file);
          return look?.settled && batchDone(run.dir, file) ? look : null;
        };
        let look = complete();
        while (look === null && wait && !noGo() && !(await wait())) look = complete();
        if (noGo()) throw new Error('no go');
        if (look === null) break;
        await readResultFile(state, file, labelIn(input, file), (m) => warnings.push(m), onBadLine);
        if (stampOf(file) !== look.stamp) throw new Error('changed');
        stamps.push({ path: file, stamp: look.stamp });
        journals.push(file);
      }
    }
  } catch (err) {
    state.tests.close();
    throw err;
  }
  return { key: setup.key, state, stamps, journals, skipped, warnings };
}

async function mergeWith(opts: MergeOptions, box: { early: Early | null }): Promise<MergeOutcome> {
  let early = box.early;
  box.early = null;
  let setup: Setup;
  try {
    setup = await setUp(opts);
  } catch (err) {
    early?.state.tests.close();
    throw err;
  }
  // the journals read early must still be the run's first ones, each as it was
  const firstJournals = setup.runs[0]?.resultFiles.slice(0, early?.journals.length ?? 0) ?? [];
  const kept =
    early !== null &&
    early.key === setup.key &&
    early.journals.every((path, k) => firstJournals[k] === path) &&
    early.stamps.every((s) => stampOf(s.path) === s.stamp);
  if (early && !kept) early.state.tests.close();
  const readAhead = early ? kept : undefined;
  const taken = kept ? early : null;
  // not held past here: a dropped early read's table is garbage while everything is read again
  early = null;
  const state = taken ? taken.state : createMergeState(tableOptions(setup.outputs));
  const warnings = taken ? taken.warnings : [];
  const done = taken ? { journals: taken.journals.length, skipped: taken.skipped } : NONE_DONE;
  try {
    if (!taken) await readExpected(state, setup.inputs, setup.runs, opts, setup.cwd);
    else for (const m of warnings) opts.warn?.(m);
    const outcome = await mergeInto(state, opts, setup, done);
    if (readAhead !== undefined) outcome.readAhead = readAhead;
    return outcome;
  } finally {
    // The spool's temp file is unlinked already; this frees its descriptor.
    state.tests.close();
  }
}

interface Plan {
  cwd: string;
  thresholds: ReturnType<typeof parseThreshold>[];
  inputs: MergeInput[];
  runs: RunFolderFiles[];
  defaultSet: boolean;
  reportDir: string;
  outputs: Outputs;
}

async function mergeInto(state: MergeState, opts: MergeOptions, plan: Plan, done: Done): Promise<MergeOutcome> {
  const { thresholds, inputs, runs, defaultSet, reportDir, outputs } = plan;
  const skippedLines = await readInputs(state, inputs, runs, opts, done);
  // Nothing at all is not a pass: `capi-split bad.csv | capi-exec | capi-merge` must not
  // go green in CI when the splitter refused the suite.
  const empty = state.tests.size === 0;
  if (empty) opts.warn?.('no results and no suite ids found: nothing ran, the verdict is failed');
  const summary = summarizeMerge(state);
  const results = evaluateThresholds(summary, thresholds);
  const verdict = empty ? 'failed' : verdictOf(results);
  const title = runs.find((r) => r.manifest?.id)?.manifest?.id ?? inputs.map((i) => i.label).join(', ');
  await writeOutputs(state, summary, results, verdict, outputs, { ...opts, title, inputs: inputs.map((i) => i.label) });
  // the default set in a report folder replaces the earlier sets there (report-set.ts)
  const replaced = defaultSet && (runs.length > 0 || opts.reportDir) ? await replaceReportSet(reportDir, outputs) : [];
  const cleaned = opts.clean ? await cleanRun(runs, state, opts.warn ?? (() => {})) : [];
  return {
    verdict,
    exitCode: verdict === 'passed' ? ExitCode.ok : ExitCode.testsFailed,
    counts: summary.counts,
    summary,
    thresholds: results,
    outputs,
    cleaned,
    replaced,
    skippedLines,
  };
}

interface WriteContext extends MergeOptions {
  title: string;
  inputs: string[];
}

/** Every output is written to a temp file; all are renamed into place only when all were written in full. */
async function writeOutputs(
  state: MergeState,
  summary: Summary,
  thresholds: ThresholdResult[],
  verdict: 'passed' | 'failed',
  outputs: Outputs,
  ctx: WriteContext,
): Promise<void> {
  const sinks: Sink[] = [];
  const open = async (path: string) => {
    const sink = await openSink(path, ctx.stdout ?? process.stdout);
    sinks.push(sink);
    return sink;
  };
  const table = state.tests;
  const meta = {
    title: ctx.title,
    generatedAt: (ctx.now ?? new Date()).toISOString(),
    verdict,
    inputs: ctx.inputs,
    runId: ctx.title.startsWith('capi_') ? ctx.title : null,
  };
  try {
    if (outputs.ndjson) await writeMergedNdjson(await open(outputs.ndjson), table);
    // with JSON, the CSV rows are written in the same pass over the rows (json-report.ts)
    if (outputs.json) {
      const json = await open(outputs.json);
      await writeJsonReport(json, table, summary, thresholds, meta, outputs.csv ? await open(outputs.csv) : undefined);
    } else if (outputs.csv) await writeCsvReport(await open(outputs.csv), table);
    if (outputs.report) await (await open(outputs.report)).write(textReport(summary, thresholds, verdict, ctx.title));
    if (outputs.html) await writeHtmlReport(await open(outputs.html), table, summary, ctx.title, verdict);
    if (outputs.junit) await writeJunitReport(await open(outputs.junit), table, ctx.title);
    if (outputs.merged) await writeMergedNdjson(await open(outputs.merged), table);
    for (const s of sinks) await s.finish();
  } catch (err) {
    await Promise.allSettled(sinks.map((s) => s.abort()));
    throw err;
  }
  for (const s of sinks) await s.commit();
}
