/**
 * Rate-limit hints an API gives before it has to say 429: the IETF draft `RateLimit`
 * header (both `limit=10, remaining=3, reset=1` and `"name";r=3;t=1` forms, several
 * policies in one list, `RateLimit-Policy`'s window `w` when `t` is missing), separate
 * `RateLimit-Remaining`/`-Reset`, and the common `X-RateLimit-*` and `X-Rate-Limit-*` pairs.
 */
export interface RateHint {
  remaining: number;
  /** Seconds until the window resets (can be huge: the caller holds it to --max-pause). */
  resetS: number;
  /** The header as the API sent it, for messages (`X-RateLimit-Reset: 1700000000000`). */
  said: string;
}

type Headers = Record<string, string | string[] | undefined>;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

const NUMBER = /^\d+(?:\.\d+)?$/;

/** Below this a reset is a delta in seconds; up to UNIX_MS, Unix seconds (2001-09-09 on). */
export const UNIX_S = 1e9;
/** From this on a reset is Unix milliseconds (Unix seconds this large are the year 33658). */
export const UNIX_MS = 1e12;

/**
 * A reset value in seconds from now, read by its size: a delta in seconds, Unix seconds or
 * Unix milliseconds (a time past is 0); an HTTP date also works. Null when it is none of
 * these (negative, empty, words): the hint is then ignored.
 */
export function resetSeconds(text: string, nowMs: number): number | null {
  const t = text.trim();
  if (NUMBER.test(t)) {
    const n = Number(t);
    if (n >= UNIX_MS) return Math.max(0, (n - nowMs) / 1000);
    if (n >= UNIX_S) return Math.max(0, n - nowMs / 1000);
    return n;
  }
  if (!/[a-z]/i.test(t)) return null;
  const date = Date.parse(t);
  return Number.isNaN(date) ? null : Math.max(0, (date - nowMs) / 1000);
}

function param(item: string, names: string): string | null {
  const m = new RegExp(`(?:^|[;,\\s])(?:${names})=("?)([^;,\\s"]*)\\1`).exec(item);
  return m ? (m[2] as string) : null;
}

/** The policies' windows from RateLimit-Policy (`"default";q=100;w=60`), by name. */
function windows(policy: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of (policy ?? '').split(',')) {
    const w = param(item, 'w');
    if (w !== null) out.set(/^\s*"?([^";]*)/.exec(item)?.[1] ?? '', w);
  }
  return out;
}

/**
 * The draft `RateLimit` header: one hint per policy (a comma-separated list of
 * `"name";r=..;t=..`, or one `limit=.., remaining=.., reset=..`), the tightest wins.
 */
function fromDraft(text: string, policy: string | undefined, nowMs: number): RateHint | null {
  const old = /remaining=/.test(text);
  const items = old ? [text] : text.split(',');
  const w = windows(policy);
  let best: RateHint | null = null;
  for (const item of items) {
    const r = param(item, old ? 'remaining' : 'r');
    const name = /^\s*"?([^";]*)/.exec(item)?.[1] ?? '';
    const t = param(item, old ? 'reset' : 't') ?? w.get(name) ?? [...w.values()][0] ?? null;
    if (r === null || t === null || !NUMBER.test(r)) continue;
    const resetS = resetSeconds(t, nowMs);
    if (resetS === null) continue;
    const hint = { remaining: Number(r), resetS, said: `RateLimit: ${text.trim()}` };
    if (!best || hint.remaining < best.remaining || (hint.remaining === best.remaining && resetS > best.resetS))
      best = hint;
  }
  return best;
}

const PAIRS = [
  ['ratelimit-remaining', 'ratelimit-reset', 'RateLimit-Reset'],
  ['x-ratelimit-remaining', 'x-ratelimit-reset', 'X-RateLimit-Reset'],
  ['x-rate-limit-remaining', 'x-rate-limit-reset', 'X-Rate-Limit-Reset'],
] as const;

export function readRateHint(headers: Headers, nowMs = Date.now()): RateHint | null {
  const draft = first(headers.ratelimit);
  if (draft) {
    const hint = fromDraft(draft, first(headers['ratelimit-policy']), nowMs);
    if (hint) return hint;
  }
  for (const [r, t, name] of PAIRS) {
    const remaining = first(headers[r])?.trim();
    const reset = first(headers[t]);
    if (remaining === undefined || reset === undefined || !NUMBER.test(remaining)) continue;
    const resetS = resetSeconds(reset, nowMs);
    if (resetS !== null) return { remaining: Number(remaining), resetS, said: `${name}: ${reset.trim().slice(0, 60)}` };
  }
  return null;
}
