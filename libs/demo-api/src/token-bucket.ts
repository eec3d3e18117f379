export interface TokenBucket {
  /** Takes one token; when none is left, says how many seconds until one is. */
  take(now?: number): { ok: true } | { ok: false; retryAfterS: number };
}

/**
 * A bucket refilled continuously at `ratePerS`: a burst of one second's worth (at least
 * one request, so a rate below 1/s still lets the first through), then `ratePerS` per second.
 */
export function createTokenBucket(ratePerS: number): TokenBucket {
  const capacity = Math.max(1, ratePerS);
  let tokens = capacity;
  let last = performance.now();
  return {
    take(now = performance.now()) {
      tokens = Math.min(capacity, tokens + ((now - last) / 1000) * ratePerS);
      last = now;
      if (tokens >= 1) {
        tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / ratePerS)) };
    },
  };
}
