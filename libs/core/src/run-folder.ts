import { join, resolve } from 'node:path';
import { isDirectory, pathExists } from './path-exists.js';

/** The run-folder layout of docs/run-folder.md: the one place that knows its paths. */

export const RUN_ID_PREFIX = 'capi_test_';

/**
 * The runs folder's `.launch.lock`: held by a capi-launch from before it makes a run's folder
 * until its supervisor has taken the run (docs/run-folder.md). capi-launch takes it; capi-watch
 * only looks whether it is held (a folder without run.json may then be the run being made).
 */
export const launchLockOf = (runs: string) => join(runs, '.launch.lock');

export function runsDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, env.CAPI_RUNS_DIR || 'capi-runs');
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `capi_test_YYYYMMDD_HHMMSS` in local time, as the guide's users know it. */
export function newRunId(date = new Date()): string {
  const d = `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}`;
  const t = `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
  return `${RUN_ID_PREFIX}${d}_${t}`;
}

/** `batch_0001`; the number grows wider past 9999 so names still sort. */
export function batchName(index: number, total = 0): string {
  return `batch_${pad(index, Math.max(4, String(total).length))}`;
}

/**
 * A batch name as capi-split writes it, and nothing else: names from index.json become
 * paths (batches/, results/, claims/, logs/), so `../x` or `a/b` must never pass.
 */
export const isBatchName = (name: unknown): name is string => typeof name === 'string' && /^batch_\d{4,}$/.test(name);

export function runPaths(runDir: string) {
  const dir = resolve(runDir);
  return {
    dir,
    manifest: join(dir, 'run.json'),
    batches: join(dir, 'batches'),
    batchIndex: join(dir, 'batches', 'index.json'),
    results: join(dir, 'results'),
    status: join(dir, 'status'),
    logs: join(dir, 'logs'),
    mainLog: join(dir, 'logs', 'capi.log'),
    report: join(dir, 'report'),
    claims: join(dir, 'claims'),
    control: join(dir, 'control.json'),
    pidFile: join(dir, 'supervisor.pid'),
    /** The capi-exec flags every worker reads with --options-file (owner-only: headers are secrets). */
    execOptions: join(dir, 'exec-options.json'),
    /** tmux: the environment the supervisor's window reads, then removes (owner-only). */
    sessionEnv: join(dir, 'session.env'),
    /** `--hosts`: capi's own record of every remote attempt of every batch (one JSON line each). */
    attempts: join(dir, 'attempts.ndjson'),
    /** `--hosts`: what each GNU parallel run sends (one folder per attempt) and its `--joblog`. */
    remote: join(dir, 'remote'),
    attemptDir: (n: number) => join(dir, 'remote', `attempt_${n}`),
    joblog: (n: number) => join(dir, 'remote', `attempt_${n}.joblog`),
    batchFile: (batch: string) => join(dir, 'batches', `${batch}.ndjson`),
    resultFile: (batch: string) => join(dir, 'results', `${batch}.ndjson`),
    statusFile: (batch: string) => join(dir, 'status', `${batch}.json`),
    /** The batch's claim (written by capi-launch's supervisor; read by capi-merge's early read). */
    claimFile: (batch: string) => join(dir, 'claims', `${batch}.json`),
    logFile: (batch: string) => join(dir, 'logs', `${batch}.log`),
  };
}

export type RunPaths = ReturnType<typeof runPaths>;

/**
 * The one rule of what a run folder is (docs/run-folder.md, "What is a run folder"): a folder
 * holding run.json. capi-launch writes run.json last, once the suite is split and checked, so
 * a folder without it is a run being made (waited for while its launch holds the runs
 * folder's lock: core's runBeingMade), or one a launch left, or no run at all. capi-launch,
 * capi-watch and capi-merge decide by this.
 */
export const isRunFolder = (dir: string) => pathExists(runPaths(dir).manifest);

/**
 * A folder without run.json that holds `status/` or `results/` laid out as a run's: the files
 * of a bare capi-exec given such `--status`/`--journal` paths (or what a launch left). Not a
 * run; capi-watch watches it by that layout, as a bare capi-exec's (docs/capi-watch.md).
 */
export async function hasRunLayout(dir: string): Promise<boolean> {
  const p = runPaths(dir);
  return (await isDirectory(p.status)) || (await isDirectory(p.results));
}

/** Batches of one size before the size doubles, with `--max-batch-size`. */
export const GROW_EVERY = 100;

/**
 * The size of batch `n` (1-based): `size`, doubled every GROW_EVERY batches up to
 * `maxSize` (capi-split `--max-batch-size`; capi-launch's default 100 to 1,000): small
 * suites keep small batches for the workers to share, and a large one is not tens of
 * thousands of batches, each with its claim, journal, lock, heartbeat and log.
 */
export function batchSizes(size: number, maxSize?: number | null): (n: number) => number {
  if (!maxSize || maxSize <= size) return () => size;
  return (n) => Math.min(maxSize, size * 2 ** Math.min(30, Math.floor((n - 1) / GROW_EVERY)));
}

/** How many batches `tests` tests make (without flows, which may make a batch longer). */
export function batchCount(tests: number, size: number, maxSize?: number | null): number {
  const sizeOf = batchSizes(size, maxSize);
  let n = 0;
  for (let left = tests; left > 0; ) left -= sizeOf(++n);
  return n;
}

/** The batch index written by `capi-split --out`: batch → first/last seq and count. */
export interface BatchIndexEntry {
  batch: string;
  file: string;
  firstSeq: number;
  lastSeq: number;
  count: number;
  firstId: string;
  lastId: string;
}

export interface BatchIndex {
  /** Tests only: setup and teardown rows are not tests. */
  total: number;
  /** Tests per batch (the first batches', when they grow). */
  batchSize: number;
  /** `--max-batch-size`: batches doubled every 100 up to this many tests (absent: all `batchSize`). */
  maxBatchSize?: number;
  batches: BatchIndexEntry[];
  /** Flows: the setup and teardown rows every batch file carries (absent when none). */
  setup?: number;
  teardown?: number;
}
