import { dirname } from 'node:path';
import {
  launchUnderWay,
  mayBeNeverStarted,
  passRate,
  type RateInForce,
  rateInForce,
  roundPassRate,
  runIsDead,
  type TestCounts,
} from '@capi/core';
import { liveWorkers, readClaims } from './claims.js';
import { lookAtSupervisor, mayRun, readControl, readManifest } from './manifest.js';
import { type CountSource, runCounts } from './results.js';

export interface RunSummary extends TestCounts {
  id: string;
  method: string;
  /**
   * run.json's state, but `dead` by core's one rule (`runIsDead`, capi-watch's DEAD): it says
   * `running` and the supervisor is gone, or it never started (`created`, no supervisor, no
   * capi-launch under way).
   */
  state: string;
  /** A supervisor has taken the run (false while run.json says `created`). */
  started: boolean;
  verdict: string | null;
  total: number;
  /** Suite tests without a result once the run has completed; 0 before (docs/formats.md "Pass rate"). */
  missing: number;
  /** Suite tests without a result while the run can still go on (running, paused, stopped, failed, dead). */
  remaining: number;
  /** docs/formats.md "Pass rate", in percent: passed / (passed + failed + errors + missing); null before any result. */
  passRate: number | null;
  /** Where the numbers come from: the journals, or report/results.ndjson after `capi-merge --clean`. */
  countsFrom: CountSource;
  paused: boolean;
  created: string;
  finished: string | null;
  pid: number | null;
  /** The supervisor is alive. */
  alive: boolean;
  /** The run's capi-exec workers alive now (pids in running claims). */
  workers: number;
  session: string | null;
  /**
   * The rate limit the workers run with (core `rateInForce`, capi-watch's too): control.json's
   * `rate` as they take it, else run.json's copy; a `rate` or `workers` they do not take named.
   */
  rateLimit: RateInForce;
}

/** One decimal; 99.96 % is 99.9 %, never a 100 % that hides a failure. */
const roundRate = (rate: number | null) => (rate === null ? null : roundPassRate(rate, 1));

/**
 * One run's numbers, counted from its journals: heartbeats count only the current
 * capi-exec process of a batch, so they are short after a restart or a resume. The
 * journals are streamed one batch at a time (about 0.1 s per 100k results).
 */
export async function summarizeRun(runDir: string): Promise<RunSummary> {
  // The supervisor first, then the journals, then run.json: a supervisor writes its end
  // before it exits, so a run.json read after "gone" is its last word. Read first, a run
  // that completed while the journals were counted was called dead. The supervisor's pid is
  // core's (supervisor.pid, else run.json's `pid`), as capi-watch judges it.
  // run.json's pid counts only without supervisor.pid: read for it then, not for every run listed
  let { pid, alive } = await lookAtSupervisor(runDir);
  const c = await runCounts(runDir);
  let m = await readManifest(runDir);
  let underWay: boolean | null = null;
  if (mayBeNeverStarted(m.state, alive)) {
    // the lock first, then the run again: a capi-launch lets the lock go only once its
    // supervisor has taken the run, so `created` and no supervisor after "no lock" is a launch that died
    underWay = await launchUnderWay(dirname(runDir));
    ({ pid, alive } = await lookAtSupervisor(runDir));
    m = await readManifest(runDir);
  }
  const missing = m.state === 'completed' ? Math.max(0, m.total - c.done) : 0;
  const remaining = m.state === 'completed' ? 0 : Math.max(0, m.total - c.done);
  // missing or not JSON: undefined, no change for the workers (run.json's copy)
  const control = await readControl(runDir).catch(() => undefined);
  const dead = runIsDead({ state: m.state, supervisorAlive: alive, launchUnderWay: underWay });
  const workers = mayRun(m.state) ? liveWorkers(await readClaims(runDir), m.id).length : 0;
  return {
    id: m.id,
    method: m.method,
    state: dead ? 'dead' : m.state,
    started: m.state !== 'created',
    verdict: m.verdict,
    total: m.total,
    done: c.done,
    passed: c.passed,
    failed: c.failed,
    errors: c.errors,
    skipped: c.skipped,
    missing,
    remaining,
    passRate: roundRate(passRate({ passed: c.passed, failed: c.failed, errors: c.errors, missing })),
    countsFrom: c.source,
    // as capi-exec takes it: paused only when `true` (a hand edit's "false" or 1 pauses no worker)
    paused: control?.paused === true,
    created: m.created,
    finished: m.finished,
    pid,
    alive,
    workers,
    session: m.session,
    rateLimit: rateInForce(control, m.options.rate),
  };
}
