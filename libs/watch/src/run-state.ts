import {
  addTestCounts,
  type CheckFailure,
  countResult,
  createTeardownTally,
  emptyTestCounts,
  plainLine,
  RESULT_STATUSES,
  type ResultError,
  type ResultStatus,
  type RunManifest,
  type StatusHeartbeat,
  type TeardownTally,
  type TestCounts,
} from '@capi/core';
import type { WatchTarget } from './watch-target.js';

/**
 * Everything the watcher has learnt about a run, accumulated from the files as they grow.
 * Only counts and short rings are kept, never the results themselves: memory stays flat
 * whatever the size of the run.
 */

export interface BatchState {
  key: string;
  /** Counts from the journal, the truth when there is one. */
  counts: TestCounts;
  hasJournal: boolean;
  heartbeat: StatusHeartbeat | null;
  /**
   * Counted from report/results.ndjson: the run was cleaned (`capi-merge --clean` removes
   * journals and heartbeats only when no test is missing), so the batch is complete.
   */
  fromReport?: boolean;
}

export interface FailureEntry {
  /** Arrival order across the whole run, 1-based. */
  n: number;
  id: string;
  name: string;
  status: 'failed' | 'error';
  detail: string;
  batch: string | null;
}

export interface RunState {
  target: WatchTarget;
  manifest: RunManifest | null;
  /** When run.json was last written: the end of a run whose `finished` is missing. */
  manifestMtimeMs: number | null;
  /** control.json says `paused` (`capi-launch --pause`). */
  controlPaused: boolean;
  /** control.json as last parsed (its limits: core `rateInForce`); undefined: none read yet, or the file is gone. */
  control: unknown;
  /** The pid in supervisor.pid, removed by the supervisor when it ends. */
  pidFilePid: number | null;
  /** `batches/index.json` total and per-batch counts. */
  indexTotal: number | null;
  indexCounts: Map<string, number>;
  batches: Map<string, BatchState>;
  failures: FailureEntry[];
  failureCount: number;
  logs: string[];
  /** Lines in a journal that are not result records (reported, not fatal). */
  badLines: number;
  /** Teardown rows (flows) whose last result in their journal failed: they fail the run (core testsVerdict). */
  teardown: TeardownTally;
  /** Results per machine (`host`, capi-launch --hosts), by the raw name; at most MAX_HOSTS. */
  hosts: Map<string, TestCounts>;
  /**
   * The runs folder's `.launch.lock` held by a live capi-launch (core `launchUnderWay`),
   * looked at only for a `created` run without a live supervisor (core `mayBeNeverStarted`),
   * before run.json and supervisor.pid were read again; null: not looked at.
   */
  launchUnderWay: boolean | null;
  /** pid → alive, refreshed by the reader for the pids the snapshot asks about. */
  alive: Map<number, boolean>;
  /** (time, done) samples of the last seconds, for the rate. */
  samples: Array<{ t: number; done: number }>;
  /** Tests per second, one point per second, for the chart. */
  series: number[];
  seriesAt: number;
  seriesDone: number;
}

export const MAX_FAILURES = 200;
/** Hosts counted apart; results of any further ones (a hostile journal) are counted under OTHER_HOSTS. */
export const MAX_HOSTS = 64;
export const OTHER_HOSTS = '(other hosts)';
export const MAX_LOG_LINES = 200;
export const MAX_SERIES = 120;
const RATE_WINDOW_MS = 10_000;

export function createRunState(target: WatchTarget): RunState {
  return {
    target,
    manifest: null,
    manifestMtimeMs: null,
    controlPaused: false,
    control: undefined,
    pidFilePid: null,
    indexTotal: null,
    indexCounts: new Map(),
    batches: new Map(),
    failures: [],
    failureCount: 0,
    logs: [],
    badLines: 0,
    teardown: createTeardownTally(),
    hosts: new Map(),
    launchUnderWay: null,
    alive: new Map(),
    samples: [],
    series: [],
    seriesAt: 0,
    seriesDone: 0,
  };
}

export function batchState(state: RunState, key: string): BatchState {
  let batch = state.batches.get(key);
  if (!batch) {
    batch = { key, counts: emptyTestCounts(), hasJournal: false, heartbeat: null };
    state.batches.set(key, batch);
  }
  return batch;
}

function describeFailure(record: { failures?: CheckFailure[]; error?: ResultError | null }): string {
  const check = record.failures?.[0];
  if (check) return `${check.check}: expected ${check.expected}, got ${check.actual}`;
  if (record.error) return `${record.error.code}: ${record.error.message}`;
  return '';
}

/**
 * The status of a passed or skipped result without parsing the whole line: most lines
 * are passes, and JSON.parse of each was most of the watcher's CPU at 5,000 tests/s. The
 * pattern can only be the top-level key: inside strings quotes are escaped, and the
 * nested `status` keys (response.status, debug.response.status) are numbers; `debug`'s
 * headers are `[name, value]` pairs, never `"name":"value"`.
 */
const QUICK_STATUS = /"status":"(passed|skipped)"/;

/**
 * A setup or teardown result (flows): not a test, so not counted (every process writes its
 * own, and a re-login more). As with QUICK_STATUS, the key can only be the top-level one:
 * quotes inside strings are escaped.
 */
const PHASE_LINE = /"phase":"(?:setup|teardown)"/;

/**
 * A result's `host` (capi-exec --host): as with QUICK_STATUS the key can only be the
 * top-level one (quotes inside strings are escaped; headers are pairs). Only lines that
 * name a host pay for the match.
 */
const HOST = /"host":"((?:[^"\\]|\\.)*)"/;

function countHost(state: RunState, line: string, status: ResultStatus): void {
  if (!line.includes('"host":"')) return;
  const m = HOST.exec(line);
  if (!m) return;
  let name = m[1] as string;
  if (name.includes('\\'))
    try {
      name = JSON.parse(`"${name}"`) as string;
    } catch {}
  let counts = state.hosts.get(name);
  if (!counts) {
    if (state.hosts.size >= MAX_HOSTS) name = OTHER_HOSTS;
    counts = state.hosts.get(name) ?? emptyTestCounts();
    state.hosts.set(name, counts);
  }
  countResult(counts, status);
}

/** Counts one journal line; a line that is not a result record is counted as bad. */
export function applyJournalLine(state: RunState, key: string, line: string): void {
  if (line.includes('"phase":"') && PHASE_LINE.test(line)) {
    if (line.includes('"phase":"teardown"')) applyTeardownLine(state, key, line);
    return;
  }
  const quick = line.charCodeAt(0) === 123 && line.charCodeAt(line.length - 1) === 125 && QUICK_STATUS.exec(line);
  if (quick) {
    countResult(batchState(state, key).counts, quick[1] as 'passed' | 'skipped');
    countHost(state, line, quick[1] as 'passed' | 'skipped');
    return;
  }
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line);
  } catch {
    state.badLines++;
    return;
  }
  const status = record?.status;
  if (typeof record?.id !== 'string' || !(RESULT_STATUSES as readonly unknown[]).includes(status)) {
    state.badLines++;
    return;
  }
  countResult(batchState(state, key).counts, status as ResultStatus);
  countHost(state, line, status as ResultStatus);
  if (status === 'failed' || status === 'error') pushFailure(state, record, status);
}

/** A teardown result: its status kept for the verdict (a few per batch). */
function applyTeardownLine(state: RunState, key: string, line: string): void {
  try {
    const r = JSON.parse(line) as { id?: unknown; status?: unknown; phase?: unknown };
    if (typeof r?.id === 'string' && typeof r.status === 'string')
      state.teardown.add(r as { id: string; status: string }, key);
  } catch {
    state.badLines++;
  }
}

/** Teardown rows that failed: from the journals, or the heartbeat of a batch without one. */
export function teardownFailed(state: RunState): number {
  let n = state.teardown.failed;
  for (const b of state.batches.values()) if (!b.hasJournal && b.heartbeat) n += b.heartbeat.teardownFailed ?? 0;
  return n;
}

function pushFailure(state: RunState, record: Record<string, unknown>, status: 'failed' | 'error'): void {
  state.failureCount++;
  state.failures.push({
    n: state.failureCount,
    // what a server or a suite wrote is shown to a person: cleaned by core's one rule
    id: plainLine(record.id),
    name: plainLine(typeof record.name === 'string' ? record.name : record.id),
    status,
    detail: plainLine(describeFailure(record as { failures?: CheckFailure[]; error?: ResultError | null })),
    batch: typeof record.batch === 'string' ? plainLine(record.batch) : null,
  });
  if (state.failures.length > MAX_FAILURES) state.failures.splice(0, state.failures.length - MAX_FAILURES);
}

export function appendLogLines(state: RunState, source: string, lines: string[]): void {
  for (const line of lines) state.logs.push(`${plainLine(source)}: ${plainLine(line)}`);
  if (state.logs.length > MAX_LOG_LINES) state.logs.splice(0, state.logs.length - MAX_LOG_LINES);
}

export function totalCounts(state: RunState): TestCounts {
  const sum = emptyTestCounts();
  for (const b of state.batches.values()) {
    addTestCounts(sum, b.hasJournal || !b.heartbeat ? b.counts : b.heartbeat);
  }
  return sum;
}

/** Records how many tests are done at `now`: the rate and the chart come from these. */
export function recordSample(state: RunState, now: number): void {
  const { done } = totalCounts(state);
  state.samples.push({ t: now, done });
  while (state.samples.length > 2 && (state.samples[0] as { t: number }).t < now - RATE_WINDOW_MS)
    state.samples.shift();
  if (state.seriesAt === 0) {
    state.seriesAt = now;
    state.seriesDone = done;
    return;
  }
  const dt = now - state.seriesAt;
  if (dt < 1000) return;
  state.series.push(Math.max(0, ((done - state.seriesDone) * 1000) / dt));
  if (state.series.length > MAX_SERIES) state.series.shift();
  state.seriesAt = now;
  state.seriesDone = done;
}
