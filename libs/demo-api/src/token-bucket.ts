export interface TokenBucket {
  /** Takes one token; when none is left, says how many seconds until one is. */
  take(now?: number): { ok: true } | { ok: false; retryAfterS: number };
}

/** A bucket of `ratePerS` tokens refilled continuously: a burst of one second, then `ratePerS` per second. */
export function createTokenBucket(ratePerS: number): TokenBucket {
  let tokens = ratePerS;
  let last = performance.now();
  return {
    take(now = performance.now()) {
      tokens = Math.min(ratePerS, tokens + ((now - last) / 1000) * ratePerS);
      last = now;
      if (tokens >= 1) {
        tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / ratePerS)) };
    },
  };
}
