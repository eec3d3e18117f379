/**
 * Retry waits. Errors back off exponentially with full jitter (a random wait between 0
 * and min(cap, base * 2^attempt)), so lanes that failed together do not retry together.
 */
export const BACKOFF_BASE_MS = 100;
export const BACKOFF_CAP_MS = 10_000;
/** A Retry-After longer than this is not waited for: the test ends as an error. */
export const RETRY_AFTER_CAP_MS = 300_000;

export function backoffMs(attempt: number, random = Math.random, base = BACKOFF_BASE_MS, cap = BACKOFF_CAP_MS): number {
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** `Retry-After` as seconds or an HTTP date, in ms from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return null;
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const date = Date.parse(t);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}
