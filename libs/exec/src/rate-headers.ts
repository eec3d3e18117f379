/**
 * Rate-limit hints an API gives before it has to say 429: the IETF draft `RateLimit`
 * header (both `limit=10, remaining=3, reset=1` and `"name";r=3;t=1` forms), separate
 * `RateLimit-Remaining`/`-Reset`, and the common `X-RateLimit-Remaining`/`-Reset`.
 */
export interface RateHint {
  remaining: number;
  /** Seconds until the window resets. */
  resetS: number;
}

type Headers = Record<string, string | string[] | undefined>;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

function num(text: string | undefined): number | null {
  if (text === undefined) return null;
  const n = Number(text.trim());
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** X-RateLimit-Reset is seconds from now, or (when it is large) a Unix time in seconds. */
function resetSeconds(n: number, nowMs: number): number {
  return n > 1e9 ? Math.max(0, n - nowMs / 1000) : n;
}

function fromDraft(text: string): RateHint | null {
  const r = /(?:^|[;,\s])(?:remaining|r)=(\d+)/.exec(text);
  const t = /(?:^|[;,\s])(?:reset|t)=(\d+)/.exec(text);
  if (!r || !t) return null;
  return { remaining: Number(r[1]), resetS: Number(t[1]) };
}

const PAIRS = [
  ['ratelimit-remaining', 'ratelimit-reset'],
  ['x-ratelimit-remaining', 'x-ratelimit-reset'],
] as const;

export function readRateHint(headers: Headers, nowMs = Date.now()): RateHint | null {
  const draft = first(headers.ratelimit);
  if (draft) {
    const hint = fromDraft(draft);
    if (hint) return hint;
  }
  for (const [r, t] of PAIRS) {
    if (headers[r] === undefined) continue;
    const remaining = num(first(headers[r]));
    const reset = num(first(headers[t]));
    if (remaining !== null && reset !== null) return { remaining, resetS: resetSeconds(reset, nowMs) };
  }
  return null;
}
