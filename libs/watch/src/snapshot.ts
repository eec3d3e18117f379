import {
  passRate,
  plainLine,
  type RateInForce,
  rateInForce,
  runExitCode,
  runIsDead,
  runSupervisorPid,
  type StatusHeartbeat,
  shellQuote,
  type TestCounts,
} from '@capi/core';
import { type FailureEntry, type RunState, teardownFailed, totalCounts } from './run-state.js';
import {
  ACTIVE,
  type BatchRow,
  batchRows,
  batchStates,
  FINAL,
  failureRows,
  ms,
  type RowOptions,
} from './snapshot-rows.js';

/** What a renderer shows: a pure function of the RunState and the clock. */

export type DisplayState =
  | 'WAITING'
  | 'CREATED'
  | 'RUNNING'
  | 'PAUSED'
  | 'FINISHING'
  | 'STALLED'
  | 'DEAD'
  | 'COMPLETED'
  | 'STOPPED'
  | 'FAILED';

export interface Snapshot extends TestCounts {
  type: 'snapshot';
  at: string;
  runId: string;
  kind: 'run' | 'exec';
  method: string | null;
  suite: string | null;
  state: DisplayState;
  /** run.json's state, or the heartbeat's for a bare capi-exec. */
  runState: string | null;
  verdict: 'passed' | 'failed' | null;
  ended: boolean;
  /** The watch's exit code once the run has ended (or is DEAD), else null. */
  exitCode: number | null;
  pid: number | null;
  pidAlive: boolean | null;
  started: string | null;
  elapsedS: number | null;
  etaS: number | null;
  lastUpdate: string | null;
  /** Seconds since the newest heartbeat of a running batch moved, when STALLED. */
  stalledS: number | null;
  /** When a running batch is paused by the API (Retry-After, a spent rate-limit window): until when (ISO), the latest. */
  apiPausedUntil: string | null;
  total: number | null;
  /** Tests without a result yet (of a completed run: the missing ones). */
  remaining: number | null;
  percent: number | null;
  passRate: number | null;
  rate: number;
  /** A launched run's rate limit in force (core `rateInForce`: control.json as its workers take it); null: a bare capi-exec. */
  rateLimit: RateInForce | null;
  rateSeries: number[];
  batchStates: Record<string, number>;
  batches: BatchRow[];
  failureCount: number;
  failures: FailureEntry[];
  logFile: string | null;
  logTail: string[];
  resume: string | null;
  badLines: number;
  /** Results per machine (capi-launch --hosts), by host name (cleaned), sorted; empty when no result names one. */
  hosts: HostRow[];
}

export interface HostRow extends TestCounts {
  host: string;
}

export interface SnapshotOptions extends RowOptions {
  maxLogLines?: number;
}

function heartbeats(state: RunState): StatusHeartbeat[] {
  return [...state.batches.values()].flatMap((b) => (b.heartbeat ? [b.heartbeat] : []));
}

/** The latest end of a pause the API asked a running batch for, still ahead of `now`. */
function apiPausedUntil(hbs: StatusHeartbeat[], now: number): string | null {
  let until = now;
  for (const hb of hbs) {
    const t = ACTIVE.has(hb.state) && typeof hb.pausedUntil === 'string' ? Date.parse(hb.pausedUntil) : Number.NaN;
    if (t > until) until = t;
  }
  return until > now ? new Date(until).toISOString() : null;
}

/** Newest heartbeat of a running batch, when every running batch is older than the limit. */
function stalledSince(state: RunState, opts: SnapshotOptions): number | null {
  const active = heartbeats(state).filter((hb) => ACTIVE.has(hb.state));
  if (active.length === 0) return null;
  const newest = Math.max(...active.map((hb) => ms(hb.updatedAt)));
  return opts.now - newest > opts.stallAfterS * 1000 ? newest : null;
}

function supervisorPid(state: RunState): number | null {
  if (state.target.kind === 'exec') {
    const hb = heartbeats(state)[0];
    return hb && typeof hb.pid === 'number' ? hb.pid : null;
  }
  return runSupervisorPid(state.pidFilePid, state.manifest?.pid);
}

/**
 * A launched run is DEAD by core's one rule (`runIsDead`, capi-launch's listing `dead`):
 * `running` without a live supervisor (gone, its pid reused, or no pid at all: a hand edit,
 * a half-written file), or `created` without one while no capi-launch is under way (never
 * started; the reader looked at the launch lock). A supervisor whose liveness is not known
 * yet is not called dead.
 */
function launchedRunDead(state: RunState, runState: string | null, pid: number | null): boolean {
  if (state.target.kind !== 'run' || runState === null) return false;
  const known = pid === null ? false : state.alive.get(pid);
  if (known === undefined) return false;
  return runIsDead({ state: runState, supervisorAlive: known, launchUnderWay: state.launchUnderWay });
}

/** The run's own state word: run.json's, or the heartbeats' for a bare capi-exec. */
function runStateOf(state: RunState): string | null {
  if (state.manifest) return state.manifest.state;
  const hbs = heartbeats(state);
  if (hbs.length === 0) return null;
  if (hbs.every((hb) => FINAL.has(hb.state))) {
    if (hbs.some((hb) => hb.state === 'failed')) return 'failed';
    return hbs.some((hb) => hb.state === 'stopped') ? 'stopped' : 'completed';
  }
  return hbs.some((hb) => ACTIVE.has(hb.state) || hb.state === 'stopping') ? 'running' : 'paused';
}

function displayState(
  state: RunState,
  runState: string | null,
  alive: boolean | null,
  dead: boolean,
  allDone: boolean,
  opts: SnapshotOptions,
): DisplayState {
  if (runState === 'completed') return 'COMPLETED';
  if (runState === 'stopped') return 'STOPPED';
  if (runState === 'failed') return 'FAILED';
  if (runState === null) return 'WAITING';
  if (dead || (state.target.kind === 'exec' && alive === false)) return 'DEAD';
  if (stalledSince(state, opts) !== null) return 'STALLED';
  if (runState === 'created') return 'CREATED';
  // Live: a batch whose worker has not ended. With none (the supervisor merging at the
  // end, or between two batches), "every live batch is paused" would be vacuously true.
  const live = heartbeats(state).filter((hb) => !FINAL.has(hb.state) && state.alive.get(hb.pid) !== false);
  if (state.controlPaused || (live.length > 0 && live.every((hb) => hb.state === 'paused'))) return 'PAUSED';
  if (live.length === 0 && allDone) return 'FINISHING';
  return 'RUNNING';
}

/** Core's one rule (docs/formats.md); a DEAD run is one whose process is gone. */
function exitCodeOf(
  runState: string | null,
  display: DisplayState,
  state: RunState,
  counts: { failed: number; errors: number },
): number | null {
  if (runState === null) return null;
  return runExitCode({
    state: runState,
    verdict: state.manifest?.verdict ?? null,
    stopSignal: state.manifest?.stopSignal ?? null,
    alive: display === 'DEAD' ? false : null,
    counts: { failed: counts.failed, errors: counts.errors, missing: 0, teardownFailed: teardownFailed(state) },
  });
}

export function snapshot(state: RunState, opts: SnapshotOptions): Snapshot {
  const m = state.manifest;
  const counts = totalCounts(state);
  const runState = runStateOf(state);
  const pid = supervisorPid(state);
  const dead = launchedRunDead(state, runState, pid);
  // no pid: unknown (null), or gone (false) when that makes the run DEAD
  const alive = pid === null ? (dead ? false : null) : (state.alive.get(pid) ?? null);
  const hbs = heartbeats(state);
  const total = m?.total ?? state.indexTotal ?? sumTotals(hbs);
  const display = displayState(state, runState, alive, dead, total !== null && counts.done >= total, opts);
  const ended = display === 'COMPLETED' || display === 'STOPPED' || display === 'FAILED';
  // Only capi-launch's merge gives a verdict (run.json): a stopped run, which can be
  // resumed, or a bare capi-exec has none, whatever its counts.
  const verdict = m?.verdict ?? null;
  const startedMs = ms(m?.created) || Math.min(...hbs.map((hb) => ms(hb.startedAt)).filter(Number.isFinite));
  const lastMs = Math.max(...hbs.map((hb) => ms(hb.updatedAt)).filter(Number.isFinite));
  const endMs = ended
    ? endOf(state, lastMs, opts.now)
    : display === 'DEAD'
      ? deathOf(state, lastMs, opts.now)
      : opts.now;
  const elapsedS = Number.isFinite(startedMs) ? Math.max(0, (endMs - startedMs) / 1000) : null;
  // Paused: nothing moves, whatever the last seconds or the heartbeats' own rates say.
  const rate = display === 'PAUSED' ? 0 : rateOf(state, hbs, ended || display === 'DEAD', counts.done, elapsedS);
  const moving = display === 'RUNNING' || display === 'STALLED';
  const remaining = total === null ? null : Math.max(0, total - counts.done);
  // While a run can go on, a test without a result is remaining, not missing: the success
  // rate is over the results so far. Only a completed run's missing tests count against it.
  const missing = display === 'COMPLETED' ? (remaining ?? 0) : 0;
  const stalled = display === 'STALLED' ? stalledSince(state, opts) : null;
  return {
    type: 'snapshot',
    at: new Date(opts.now).toISOString(),
    runId: m?.id ?? state.target.id,
    kind: state.target.kind,
    method: m?.method ?? (state.target.kind === 'exec' ? 'exec' : null),
    suite: m?.suite?.file ?? null,
    state: display,
    runState,
    verdict,
    ended,
    exitCode: exitCodeOf(runState, display, state, counts),
    pid,
    pidAlive: alive,
    started: Number.isFinite(startedMs) ? new Date(startedMs).toISOString() : null,
    elapsedS,
    etaS: moving && remaining !== null && rate > 0 ? remaining / rate : null,
    lastUpdate: Number.isFinite(lastMs) ? new Date(lastMs).toISOString() : null,
    stalledS: stalled === null ? null : (opts.now - stalled) / 1000,
    apiPausedUntil: ended ? null : apiPausedUntil(hbs, opts.now),
    total,
    ...counts,
    remaining,
    percent: total ? Math.min(100, (counts.done / total) * 100) : null,
    passRate: passRate({ passed: counts.passed, failed: counts.failed, errors: counts.errors, missing }),
    rate,
    rateLimit: m && state.target.kind === 'run' ? rateInForce(state.control, m.options.rate) : null,
    rateSeries: [...state.series],
    batchStates: batchStates(state, opts),
    batches: batchRows(state, opts),
    failureCount: state.failureCount,
    failures: failureRows(state, opts),
    logFile: state.target.kind === 'run' ? `${state.target.dir}/logs/capi.log` : null,
    logTail: state.logs.slice(-(opts.maxLogLines ?? 20)),
    resume:
      display === 'DEAD' || display === 'STALLED' || display === 'STOPPED' ? resumeHint(state, display, pid) : null,
    badLines: state.badLines,
    hosts: [...state.hosts]
      .map(([host, c]) => ({ host: plainLine(host), ...c }))
      .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0)),
  };
}

/**
 * When an ended run stopped: run.json's `finished`, else (a stop that had to kill its
 * workers) the later of the last heartbeat and run.json written as stopped.
 */
function endOf(state: RunState, lastBeatMs: number, now: number): number {
  const finished = ms(state.manifest?.finished);
  if (Number.isFinite(finished)) return finished;
  const last = Math.max(lastBeatMs, state.manifestMtimeMs ?? Number.NEGATIVE_INFINITY);
  return Number.isFinite(last) ? last : now;
}

/** When a DEAD run last showed life: its newest heartbeat, else run.json's last write. */
function deathOf(state: RunState, lastBeatMs: number, now: number): number {
  if (Number.isFinite(lastBeatMs)) return lastBeatMs;
  return state.manifestMtimeMs ?? now;
}

function sumTotals(hbs: StatusHeartbeat[]): number | null {
  const totals = hbs.map((hb) => hb.total);
  return totals.length > 0 && totals.every((t) => typeof t === 'number')
    ? (totals as number[]).reduce((a, b) => a + b, 0)
    : null;
}

/** Tests/s over the last seconds seen; else the heartbeats' own rates; else (and once over) the average. */
function rateOf(state: RunState, hbs: StatusHeartbeat[], over: boolean, done: number, elapsedS: number | null) {
  if (over) return elapsedS ? done / elapsedS : 0;
  const first = state.samples[0];
  const last = state.samples[state.samples.length - 1];
  if (first && last && last.t - first.t >= 2000) return ((last.done - first.done) * 1000) / (last.t - first.t);
  const beats = hbs.filter((hb) => ACTIVE.has(hb.state)).reduce((sum, hb) => sum + (Number(hb.rate) || 0), 0);
  if (beats > 0) return beats;
  return elapsedS ? done / elapsedS : 0;
}

/**
 * The command that continues the run. A STALLED run's supervisor is alive, and capi-launch
 * refuses to resume a live run: it has to be stopped first (in-flight tests finish).
 */
export function resumeHint(state: RunState, display: DisplayState, pid: number | null): string {
  const live = display === 'STALLED';
  if (state.target.kind === 'run') {
    const id = state.manifest?.id ?? state.target.id;
    return live
      ? `capi-launch --stop ${shellQuote(id)} && capi-launch --resume ${shellQuote(id)}`
      : `capi-launch --resume ${shellQuote(id)}`;
  }
  const stop = live && pid !== null ? `kill ${pid}, then ` : '';
  const journal = [...state.target.files].find(([, f]) => f.role === 'journal')?.[0];
  return journal
    ? `${stop}run the same capi-exec command again with --journal ${journal} (it skips the ids already there)`
    : `${stop}run the same capi-exec command again with a --journal to resume`;
}
