import { emptyTestCounts, type HeartbeatState, monotonicMs, type TestCounts } from '@capi/core';

/**
 * The run as it goes, shared by the engine, the heartbeat, the progress line and the
 * control file: counters, the ids in flight, and the limits that can change live.
 */
export interface LiveState extends TestCounts {
  state: HeartbeatState;
  total: number | null;
  /** Tests already in the journal when the run started (not run again). */
  resumed: number;
  /** Of those, how many had failed or errored. */
  resumedNotPassed: number;
  /** Teardown rows (flows) of this process that failed or errored: they fail the run. */
  teardownFailed: number;
  inFlight: Set<string>;
  /** Tests finished per second over the last few seconds (sampled once a second). */
  rate: number;
  /** The same, measured now (for the progress line, between samples). */
  rateNow: () => number;
  startedAt: number;
  /** Live limits (control.json): tests in flight, and whether new tests may start. */
  concurrency: number;
  paused: boolean;
  /** Called when a limit changed, so the engine looks again. */
  wake: () => void;
  /** Wall-clock ms at which a pause the API asked for ends, or null (set by the engine). */
  apiPausedUntil: () => number | null;
}

export function createLiveState(concurrency: number, total: number | null = null): LiveState {
  const live: LiveState = {
    state: 'starting',
    total,
    ...emptyTestCounts(),
    resumed: 0,
    resumedNotPassed: 0,
    teardownFailed: 0,
    inFlight: new Set(),
    rate: 0,
    rateNow: () => live.rate,
    startedAt: Date.now(),
    concurrency,
    paused: false,
    wake: () => {},
    apiPausedUntil: () => null,
  };
  return live;
}

const WINDOW = 5;

/**
 * Samples `done` (call it once a second); `rate` is the average over the last WINDOW
 * seconds. It starts from a sample taken at creation, so until WINDOW seconds of samples
 * exist the rate is the average since the start, never 0 while tests finish. Sets
 * `live.rateNow` to the same measure taken at the moment it is asked.
 */
export function createRateMeter(live: LiveState, now: () => number = monotonicMs): () => void {
  const samples: Array<{ t: number; done: number }> = [{ t: now(), done: live.done }];
  const since = (t: number) => {
    const first = samples[0] as { t: number; done: number };
    const span = (t - first.t) / 1000;
    return span >= 0.05 ? (live.done - first.done) / span : 0;
  };
  live.rateNow = () => since(now());
  return () => {
    const t = now();
    samples.push({ t, done: live.done });
    if (samples.length > WINDOW + 1) samples.shift();
    live.rate = since(t);
  };
}
