import type { HeartbeatState } from '@capi/core';

/**
 * The run as it goes, shared by the engine, the heartbeat, the progress line and the
 * control file: counters, the ids in flight, and the limits that can change live.
 */
export interface LiveState {
  state: HeartbeatState;
  total: number | null;
  done: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  /** Tests already in the journal when the run started (not run again). */
  resumed: number;
  /** Of those, how many had failed or errored. */
  resumedNotPassed: number;
  inFlight: Set<string>;
  /** Tests finished per second over the last few seconds. */
  rate: number;
  startedAt: number;
  /** Live limits (control.json): tests in flight, and whether new tests may start. */
  concurrency: number;
  paused: boolean;
  /** Called when a limit changed, so the engine looks again. */
  wake: () => void;
}

export function createLiveState(concurrency: number, total: number | null = null): LiveState {
  return {
    state: 'starting',
    total,
    done: 0,
    passed: 0,
    failed: 0,
    errors: 0,
    skipped: 0,
    resumed: 0,
    resumedNotPassed: 0,
    inFlight: new Set(),
    rate: 0,
    startedAt: Date.now(),
    concurrency,
    paused: false,
    wake: () => {},
  };
}

const WINDOW = 5;

/** Samples `done` once a second; `rate` is the average over the last few samples. */
export function createRateMeter(live: LiveState): () => void {
  const samples: Array<{ t: number; done: number }> = [];
  return () => {
    const t = performance.now();
    samples.push({ t, done: live.done });
    if (samples.length > WINDOW + 1) samples.shift();
    const first = samples[0] as { t: number; done: number };
    const span = (t - first.t) / 1000;
    live.rate = span > 0 ? (live.done - first.done) / span : 0;
  };
}
