/**
 * Paces the starts of requests for the whole process. A smooth token bucket of depth
 * one: starts are spaced 1/rate apart, never bursting above the rate. On top of the
 * configured rate sit two things the API can ask for:
 * - a pause (Retry-After on 429/503, or a spent rate-limit window) that holds every lane;
 * - an adaptive ceiling: a 429 halves the pace, which then recovers by 10% a second.
 * Every pause is held to `maxPauseMs` (--max-pause): a longer one is refused, and until it
 * would have ended `take()` answers false at once and `refusal()` says why, so the tests
 * that would wait end as errors instead of the process sleeping for years.
 */

import { monotonicMs } from '@capi/core';
import { DEFAULT_MAX_PAUSE_MS, timerMs } from './backoff.js';

export interface RateLimiter {
  /**
   * Resolves when this lane may start a request (at once when nothing limits the pace);
   * false when `cancelAll` ended the wait or a pause over the cap was refused (`refusal()`).
   */
  take(): boolean | Promise<boolean>;
  /** Ends every wait with false, and every later take() too (the run is stopping). */
  cancelAll(): void;
  setRate(perSecond: number | null): void;
  /** The API asked for a pause (`said`: what it sent). False when it is over the cap and was refused. */
  pauseFor(ms: number, said?: string): boolean;
  /** Why tests may not start now (a refused pause that has not yet run out), or null. */
  refusal(): string | null;
  /** Wall-clock ms at which the API's pause ends, or null when none is in force. */
  pausedUntilWall(): number | null;
  /** The API said 429: lower the pace for a while. `observed` is the recent tests/s. */
  throttle(observed: number): void;
  /** Rate-limit headers: at most `remaining` more starts over the next `resetS` seconds. */
  hint(remaining: number, resetS: number, lanes: number, said?: string): void;
  /** The pace in force now (starts per second), or null when unlimited. */
  effectiveRate(): number | null;
  readonly pausedUntil: number;
}

const RECOVERY_PER_S = 1.1;
const MIN_RATE = 0.2;
const HEADROOM = 1.015;
const CATCH_UP_MS = 1000 * (HEADROOM - 1);
const THROTTLE_EVERY_MS = 1000;

function seconds(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  const s = ms / 1000;
  if (s < 3600) return `${Math.round(s)} s`;
  if (s < 86400 * 2) return `${(s / 3600).toFixed(1)} h`;
  if (s < 86400 * 730) return `${Math.round(s / 86400)} days`;
  return `${Math.round(s / (86400 * 365.25))} years`;
}

/**
 * Long as a whole, short in its parts: the pace (configured, adaptive after a 429, the
 * API's pause and hints) and the queue of waiting starts are one state that `take`,
 * `pump`, `pauseFor`, `throttle` and `hint` all read and change, so they are closures
 * over it rather than module functions passing it around.
 */
export function createRateLimiter(
  initial: number | null,
  now: () => number = monotonicMs,
  maxPauseMs = DEFAULT_MAX_PAUSE_MS,
): RateLimiter {
  let configured = initial;
  let adaptive: number | null = null;
  let adaptiveAt = 0;
  let lastThrottle = Number.NEGATIVE_INFINITY;
  let recoverTo = 0;
  let hinted: number | null = null;
  let hintedUntil = 0;
  let next = 0;
  let pausedUntil = 0;
  let refusedUntil = 0;
  let refusedWhy = '';
  let closed = false;

  const current = (): number | null => {
    const t = now();
    if (adaptive !== null) {
      const grown = adaptive * RECOVERY_PER_S ** ((t - adaptiveAt) / 1000);
      if (grown >= recoverTo) adaptive = null;
      else {
        adaptive = grown;
        adaptiveAt = t;
      }
    }
    if (hinted !== null && t >= hintedUntil) hinted = null;
    let r = configured;
    for (const c of [adaptive, hinted]) if (c !== null) r = r === null ? c : Math.min(r, c);
    return r;
  };

  // Waiting lanes queue here, first come first served; one timer releases them one slot
  // at a time, so no lanes wake together to race for a slot.
  const queue: Array<(ok: boolean) => void> = [];
  let timer: NodeJS.Timeout | null = null;
  let timerAt = 0;

  const arm = (at: number, t: number) => {
    if (timer && timerAt <= at) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(
      () => {
        timer = null;
        pump();
      },
      timerMs(Math.max(1, Math.ceil(at - t))),
    );
  };

  /** Grants slots to waiting lanes while slots are due; else sets the timer for the next one. */
  const pump = () => {
    for (let guard = 0; queue.length > 0 && guard < 100_000; guard++) {
      const t = now();
      if (t < pausedUntil) return arm(pausedUntil, t);
      const rate = current();
      if (rate === null) {
        (queue.shift() as (ok: boolean) => void)(true);
        continue;
      }
      const interval = (1000 / rate) * HEADROOM;
      // A timer can fire early (libuv caches its clock per loop turn) or late (a busy loop).
      if (next > t) return arm(next, t);
      // Late by less than CATCH_UP_MS: the next slot stays on the grid, so the average
      // holds. Later (a busy loop, or idle lanes): the grid starts again from now, so lost
      // time is never made up in a burst. Slots are HEADROOM/rate apart and a start is less
      // than CATCH_UP_MS = 1000 × (HEADROOM − 1) after its slot, so any one-second window
      // holds at most (1000 + CATCH_UP_MS) / interval = rate starts.
      next = (t - next < CATCH_UP_MS ? next : t) + interval;
      (queue.shift() as (ok: boolean) => void)(true);
    }
  };

  const repump = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    pump();
  };

  const refuse = (ms: number, said: string | undefined) => {
    const t = now();
    const until = t + ms;
    if (until > refusedUntil) {
      refusedUntil = until;
      const wall = Number.isFinite(ms) && ms < 8.64e15 - Date.now() ? new Date(Date.now() + ms).toISOString() : 'never';
      refusedWhy =
        `the API asked for a pause of ${seconds(ms)} (until ${wall}${said ? `; ${said}` : ''}), ` +
        `longer than --max-pause ${Math.round(maxPauseMs / 1000)} s: not waited for`;
    }
    for (const resolve of queue.splice(0)) resolve(false);
  };
  const pauseFor = (ms: number, said?: string): boolean => {
    if (!(ms <= maxPauseMs)) {
      refuse(ms, said);
      return false;
    }
    pausedUntil = Math.max(pausedUntil, now() + ms);
    repump();
    return true;
  };
  const refused = () => refusedUntil > 0 && now() < refusedUntil;

  return {
    take() {
      if (closed || refused()) return false;
      if (queue.length === 0 && configured === null && adaptive === null && hinted === null && now() >= pausedUntil)
        return true;
      return new Promise<boolean>((resolve) => {
        queue.push(resolve);
        if (queue.length === 1) repump();
      });
    },
    cancelAll() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      for (const resolve of queue.splice(0)) resolve(false);
    },
    setRate(perSecond) {
      configured = perSecond;
      repump();
    },
    pauseFor,
    refusal: () => (refused() ? refusedWhy : null),
    pausedUntilWall() {
      const t = now();
      return pausedUntil > t ? Date.now() + (pausedUntil - t) : null;
    },
    throttle(observed) {
      const t = now();
      // Many lanes see the same 429 burst: halve once per second, not once per answer.
      if (t - lastThrottle < THROTTLE_EVERY_MS) return;
      const base = current() ?? (observed > 0 ? observed : null);
      // No --rate and nothing finished yet: there is no pace to halve; the pause must do.
      if (base === null) return;
      lastThrottle = t;
      if (adaptive === null) recoverTo = configured ?? Math.max(observed, base);
      adaptive = Math.max(MIN_RATE, Math.min(base, observed > 0 ? observed : base) / 2);
      adaptiveAt = t;
    },
    hint(remaining, resetS, lanes, said) {
      const t = now();
      if (remaining <= 0) {
        const ms = Math.max(resetS, 0) * 1000;
        if (ms > maxPauseMs) pauseFor(ms, said);
        else {
          // At least 50 ms: an API that says "none left, reset now" is not hammered in a loop.
          pausedUntil = Math.max(pausedUntil, t + Math.max(ms, 50));
          repump();
        }
        return;
      }
      // Only pace when the window would otherwise run dry before it resets; a window
      // longer than the cap paces as if it ended at the cap (the API will say 429 if not).
      if (remaining > lanes * 2) return;
      const windowS = Math.min(Math.max(resetS, 0.05), maxPauseMs / 1000);
      hinted = Math.max(MIN_RATE, remaining / windowS);
      hintedUntil = t + windowS * 1000;
    },
    effectiveRate: current,
    get pausedUntil() {
      return pausedUntil;
    },
  };
}
