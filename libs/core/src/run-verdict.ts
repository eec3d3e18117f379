import { ExitCode } from './exit-code.js';

/**
 * One run, one pass rate, one verdict, one exit code (docs/formats.md "Pass rate, verdict
 * and a run's exit code"): capi-merge, capi-watch and capi-launch all take them from here.
 */

/** The tests that are judged. `missing` counts only once the run is over for good. */
export interface JudgedCounts {
  passed: number;
  failed: number;
  errors: number;
  missing: number;
}

/** Percent of judged tests that passed; null when no test is judged (never a made-up 100 %). */
export function passRate(c: JudgedCounts): number | null {
  const judged = c.passed + c.failed + c.errors + c.missing;
  return judged === 0 ? null : (c.passed / judged) * 100;
}

/** What the default rule judges: the tests, and the teardown rows (flows) that failed. */
export interface VerdictCounts extends Omit<JudgedCounts, 'passed'> {
  /**
   * Teardown rows whose last result failed or errored (core `createTeardownTally`): not
   * tests, so never in the pass rate, but a cleanup that did not happen fails the run.
   */
  teardownFailed: number;
}

/** The default rule: any failed, errored or missing test, or failed teardown row, fails the run. */
export function testsVerdict(c: VerdictCounts): 'passed' | 'failed' {
  return c.failed + c.errors + c.missing + c.teardownFailed > 0 ? 'failed' : 'passed';
}

export interface RunEnd {
  /** run.json's `state`, or a bare capi-exec's final heartbeat state. */
  state: string;
  verdict: 'passed' | 'failed' | null;
  /** The signal that stopped it (run.json `stopSignal`); unknown reads as SIGTERM. */
  stopSignal?: string | null;
  /** Whether the process that runs it (supervisor, capi-exec) lives; only asked while the state is not final. */
  alive: boolean | null;
  /** Counts, for a completed run without a verdict (a bare capi-exec). */
  counts?: VerdictCounts;
}

/** The run's exit code, or null while it can still go on. */
export function runExitCode(run: RunEnd): number | null {
  switch (run.state) {
    case 'completed': {
      const verdict = run.verdict ?? (run.counts ? testsVerdict(run.counts) : 'failed');
      return verdict === 'passed' ? ExitCode.ok : ExitCode.testsFailed;
    }
    case 'stopped':
      return run.stopSignal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm;
    case 'failed':
      return ExitCode.cannotRun;
    default:
      return run.alive === false ? ExitCode.cannotRun : null;
  }
}

/**
 * A pass rate rounded to `digits` decimals, but never up to 100 while a test did not pass
 * (99.996 % is 99.99 %, not a 100 % that hides a failure).
 */
export function roundPassRate(rate: number, digits: number): number {
  const scale = 10 ** digits;
  const rounded = Math.round(rate * scale) / scale;
  return rounded >= 100 && rate < 100 ? 100 - 1 / scale : rounded;
}

/** A pass rate for people: `-` when there is none. */
export function formatPassRate(rate: number | null, digits = 2): string {
  return rate === null ? '-' : `${roundPassRate(rate, digits).toFixed(digits)}%`;
}
