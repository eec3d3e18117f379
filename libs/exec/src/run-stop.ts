import { setMaxListeners } from 'node:events';
import { timerMs } from './backoff.js';
import type { HttpClient } from './http-client.js';
import type { LiveState } from './live-state.js';
import type { RateLimiter } from './rate-limiter.js';

export type StopCause = 'stop' | 'max-errors' | 'unreachable';

/**
 * How a run ends before its input does, in one place. A stop signal: no new tests, lanes
 * waiting (for a slot, a pause, a retry) end at once, tests in flight get `graceMs` and
 * are then cut. `--max-errors` or an unreachable target: no new tests, the first such
 * cause stands. A failure of capi-exec itself: kept and thrown once every lane is done.
 */
export interface RunStop {
  /** Aborted when the grace after a stop is over: tests in flight are cut. */
  readonly cut: AbortSignal;
  /** Aborted at a stop: waits between tries end at once. */
  readonly waits: AbortSignal;
  readonly cause: StopCause | null;
  /** Why --max-errors or an unreachable target stopped the run, in words. */
  readonly reason: string | null;
  readonly failure: unknown;
  /** No new test may start. */
  ended(): boolean;
  /** Ends the run for `cause`, unless it already ends for another. */
  end(cause: 'max-errors' | 'unreachable', reason: string): void;
  /** A lane failed (a bug, not a test result): the run ends and the first failure is thrown. */
  fail(err: unknown): void;
  /** Listens to the stop signal until `dispose`. */
  listen(signal: AbortSignal | undefined): void;
  dispose(): void;
}

export interface RunStopParts {
  live: LiveState;
  limiter: RateLimiter;
  client: HttpClient;
  graceMs: number;
  /** Wakes the feeding loop, so it sees the stop. */
  wake: () => void;
}

export function createRunStop({ live, limiter, client, graceMs, wake }: RunStopParts): RunStop {
  const cutter = new AbortController();
  const waits = new AbortController();
  // Every lane in flight or waiting out a backoff listens to these: as many listeners as
  // lanes is normal, and Node's warning past 10 is noise a user would have to decode.
  setMaxListeners(0, cutter.signal);
  setMaxListeners(0, waits.signal);
  let cause: StopCause | null = null;
  let reason: string | null = null;
  let failure: unknown = null;
  let graceTimer: NodeJS.Timeout | null = null;
  let signal: AbortSignal | undefined;
  const onStop = () => {
    // A signal wins over --max-errors: the run was stopped, and in flight gets the grace.
    cause = 'stop';
    live.state = 'stopping';
    // Lanes waiting for a slot, a pause or a retry have nothing in flight: they end now,
    // not after --grace (a resume runs their tests).
    limiter.cancelAll();
    waits.abort();
    if (graceTimer) return;
    graceTimer = setTimeout(() => {
      cutter.abort();
      limiter.cancelAll();
      void client.destroy();
    }, timerMs(graceMs));
    wake();
  };
  return {
    cut: cutter.signal,
    waits: waits.signal,
    get cause() {
      return cause;
    },
    get reason() {
      return reason;
    },
    get failure() {
      return failure;
    },
    ended: () => cause !== null || failure !== null,
    end(why, text) {
      if (cause) return;
      cause = why;
      reason = text;
      live.state = 'stopping';
    },
    fail(err) {
      failure ??= err;
      cause ??= 'stop';
    },
    listen(s) {
      signal = s;
      if (s?.aborted) onStop();
      else s?.addEventListener('abort', onStop, { once: true });
    },
    dispose() {
      if (graceTimer) clearTimeout(graceTimer);
      signal?.removeEventListener('abort', onStop);
    },
  };
}
