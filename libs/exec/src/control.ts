import { readFileSync } from 'node:fs';
import { controlConcurrency, controlRate, parseRate, type RunControl } from '@capi/core';
import type { LiveState } from './live-state.js';
import type { RateLimiter } from './rate-limiter.js';

/**
 * What control.json (core `RunControl`, docs/run-folder.md) asks of this worker. `rate` is
 * the whole run's and is shared by the `workers` live workers; `concurrency` is this
 * worker's. A `rate` or `concurrency` capi-exec does not take (core's `controlRate`,
 * `controlConcurrency`) reads as null, such a `workers` as 1; a file that is missing or
 * cannot be parsed changes nothing.
 */
export interface ControlEffect {
  paused: boolean;
  /**
   * Starts per second for this worker; null: this capi-exec's own `--rate` (a launched
   * worker has none, so no limit, as `capi-launch --set rate=none` means).
   */
  rate: number | null;
  /** null: this capi-exec's own `--concurrency`. */
  concurrency: number | null;
  /** Stop as on SIGTERM (`stop: true`). */
  stop: boolean;
}

export function controlEffect(c: Partial<RunControl>): ControlEffect {
  const workers = Number.isInteger(c.workers) && (c.workers as number) > 0 ? (c.workers as number) : 1;
  // core's one rule for control.json's limits, which run.json's copy follows too
  const text = controlRate(c);
  const rate = text === null ? null : parseRate(text) / workers;
  const concurrency = controlConcurrency(c) ?? null;
  return { paused: c.paused === true, rate, concurrency, stop: c.stop === true };
}

export interface ControlWatch {
  stop(): void;
  /** Reads the file now (also done every second). */
  poll(): Promise<void>;
}

export function watchControl(
  path: string,
  live: LiveState,
  limiter: RateLimiter,
  defaults: { rate: number | null; concurrency: number },
  everyMs = 1000,
  onStop: () => void = () => {},
): ControlWatch {
  let last = '';
  const poll = async () => {
    let text: string;
    try {
      // synchronous: a small file, read at every batch's start and 4 times a second (a
      // thread-pool round trip each through fs/promises, issue 16)
      text = readFileSync(path, 'utf8');
    } catch {
      return;
    }
    if (text === last) return;
    let parsed: Partial<RunControl>;
    try {
      parsed = JSON.parse(text) as Partial<RunControl>;
    } catch {
      return;
    }
    last = text;
    const e = controlEffect(parsed);
    live.paused = e.paused;
    live.concurrency = e.concurrency ?? defaults.concurrency;
    limiter.setRate(e.rate ?? defaults.rate);
    if (live.paused && live.state === 'running') live.state = 'paused';
    if (!live.paused && live.state === 'paused') live.state = 'running';
    live.wake();
    if (e.stop) onStop();
  };
  // Not unref'd: while paused, this timer is what keeps the process alive to be woken.
  const timer = setInterval(() => void poll(), everyMs);
  return {
    stop: () => clearInterval(timer),
    poll,
  };
}
