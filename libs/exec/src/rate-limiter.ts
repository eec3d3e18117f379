/**
 * Paces the starts of requests for the whole process. A smooth token bucket of depth
 * one: starts are spaced 1/rate apart, never bursting above the rate. On top of the
 * configured rate sit two things the API can ask for:
 * - a pause (Retry-After on 429/503, or a spent rate-limit window) that holds every lane;
 * - an adaptive ceiling: a 429 halves the pace, which then recovers by 10% a second.
 */
export interface RateLimiter {
  /** Waits until this lane may start a request; resolves false if `cancelled` turned true. */
  take(cancelled?: () => boolean): Promise<boolean>;
  setRate(perSecond: number | null): void;
  pauseFor(ms: number): void;
  /** The API said 429: lower the pace for a while. `observed` is the recent tests/s. */
  throttle(observed: number): void;
  /** Rate-limit headers: at most `remaining` more starts over the next `resetS` seconds. */
  hint(remaining: number, resetS: number, lanes: number): void;
  /** The pace in force now (starts per second), or null when unlimited. */
  effectiveRate(): number | null;
  readonly pausedUntil: number;
}

const RECOVERY_PER_S = 1.1;
const MIN_RATE = 0.2;
const HEADROOM = 1.01;

export function createRateLimiter(
  initial: number | null,
  now: () => number = performance.now.bind(performance),
): RateLimiter {
  let configured = initial;
  let adaptive: number | null = null;
  let adaptiveAt = 0;
  let recoverTo = 0;
  let hinted: number | null = null;
  let hintedUntil = 0;
  let next = 0;
  let pausedUntil = 0;

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

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(ms))));

  return {
    async take(cancelled) {
      for (let guard = 0; guard < 1e6; guard++) {
        if (cancelled?.()) return false;
        const t = now();
        if (t < pausedUntil) {
          await sleep(Math.min(pausedUntil - t, 250));
          continue;
        }
        const rate = current();
        if (rate === null) return true;
        // 1% headroom: a start that fires a little late can then never push a
        // one-second window above the rate.
        const interval = (1000 / rate) * HEADROOM;
        const slot = next < t - interval ? t : Math.max(next, t);
        next = slot + interval;
        if (slot > t) await sleep(slot - t);
        if (now() >= pausedUntil) return !cancelled?.();
      }
      return true;
    },
    setRate(perSecond) {
      configured = perSecond;
    },
    pauseFor(ms) {
      pausedUntil = Math.max(pausedUntil, now() + ms);
    },
    throttle(observed) {
      const base = current() ?? Math.max(observed, MIN_RATE * 2);
      if (adaptive === null) recoverTo = configured ?? Math.max(observed, base);
      adaptive = Math.max(MIN_RATE, Math.min(base, observed > 0 ? observed : base) / 2);
      adaptiveAt = now();
    },
    hint(remaining, resetS, lanes) {
      const t = now();
      if (remaining <= 0) {
        pausedUntil = Math.max(pausedUntil, t + Math.max(resetS, 0.05) * 1000);
        return;
      }
      // Only pace when the window would otherwise run dry before it resets.
      if (remaining > lanes * 2) return;
      hinted = Math.max(MIN_RATE, remaining / Math.max(resetS, 0.05));
      hintedUntil = t + Math.max(resetS, 0.05) * 1000;
    },
    effectiveRate: current,
    get pausedUntil() {
      return pausedUntil;
    },
  };
}
