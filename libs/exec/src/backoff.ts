import { resetSeconds } from './rate-headers.js';

/**
 * Retry waits. Errors back off exponentially with full jitter (a random wait between 0
 * and min(cap, base * 2^attempt)), so lanes that failed together do not retry together.
 */
export const BACKOFF_BASE_MS = 100;
export const BACKOFF_CAP_MS = 10_000;
/** `--max-pause` default: a pause the API asks for (Retry-After, a spent window) longer than this is not waited. */
export const DEFAULT_MAX_PAUSE_MS = 300_000;
/** The most `--max-pause` may be: a day (a run left overnight can wait out a daily quota). */
export const MAX_PAUSE_LIMIT_MS = 86_400_000;
/** Node's timers hold at most 2^31-1 ms; a longer delay fires at once with a TimeoutOverflowWarning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay any timer can take: 0 to MAX_TIMER_MS, NaN as 0. */
export function timerMs(ms: number): number {
  return ms > 0 ? Math.min(ms, MAX_TIMER_MS) : 0;
}

export function backoffMs(attempt: number, random = Math.random, base = BACKOFF_BASE_MS, cap = BACKOFF_CAP_MS): number {
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * `Retry-After` in ms from `now`: seconds or an HTTP date (RFC 9110), and, read by size as
 * rate-limit resets are, Unix seconds or milliseconds (some APIs send those); null when
 * absent or unreadable. Huge values stay huge: the caller holds them to --max-pause.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return null;
  const s = resetSeconds(text, now);
  return s === null ? null : Math.round(s * 1000);
}
