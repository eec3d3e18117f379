import type { RequestContext } from './context.js';
import { sendJson } from './respond.js';
import { createTokenBucket } from './token-bucket.js';

const defaultRouteLimit = 10;
const maxFlakyKeys = 100_000;

function limitFrom(ctx: RequestContext, fallback: number): number {
  const text = ctx.url.searchParams.get('limit');
  const n = text === null ? Number.NaN : Number(text);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** GET /ratelimit: its own token bucket of `?limit=` (or the rateLimit option, or 10) per second. */
export function rateLimited(ctx: RequestContext): Promise<void> {
  const limit = limitFrom(ctx, ctx.state.options.rateLimit || defaultRouteLimit);
  let bucket = ctx.state.routeBuckets.get(limit);
  if (!bucket) {
    bucket = createTokenBucket(limit);
    ctx.state.routeBuckets.set(limit, bucket);
  }
  const taken = bucket.take();
  if (taken.ok) return sendJson(ctx, 200, { ok: true, limit });
  const retryAfter = ctx.state.options.retryAfterS ?? taken.retryAfterS;
  return sendJson(ctx, 429, { error: 'rate limited', limit }, { 'retry-after': String(retryAfter) });
}

/** GET /flaky/:key?fail=N: 503 with Retry-After: 1 for the first N (default 1) requests of each key, then 200. */
export function flaky(ctx: RequestContext): Promise<void> {
  const key = ctx.params.key ?? '';
  const failText = ctx.url.searchParams.get('fail');
  const fail = failText !== null && /^\d+$/.test(failText) ? Number(failText) : 1;
  if (ctx.state.flaky.size >= maxFlakyKeys && !ctx.state.flaky.has(key)) ctx.state.flaky.clear();
  const attempt = (ctx.state.flaky.get(key) ?? 0) + 1;
  ctx.state.flaky.set(key, attempt);
  if (attempt <= fail) {
    return sendJson(ctx, 503, { error: 'flaky', key, attempt, fail }, { 'retry-after': '1' });
  }
  return sendJson(ctx, 200, { ok: true, key, attempt });
}

/**
 * GET /ratelimit-headers: a fixed one-second window of `?limit=` (default 10) requests,
 * described by both the IETF draft headers and the X-RateLimit-* ones; 429 once spent.
 */
export function rateLimitHeaders(ctx: RequestContext): Promise<void> {
  const limit = Math.floor(limitFrom(ctx, defaultRouteLimit));
  const now = Date.now();
  const windowStart = now - (now % 1000);
  let window = ctx.state.windows.get(limit);
  if (!window || window.start !== windowStart) {
    window = { start: windowStart, count: 0 };
    ctx.state.windows.set(limit, window);
  }
  window.count++;
  const remaining = Math.max(0, limit - window.count);
  const reset = Math.max(1, Math.ceil((windowStart + 1000 - now) / 1000));
  const headers = {
    ratelimit: `limit=${limit}, remaining=${remaining}, reset=${reset}`,
    'ratelimit-policy': `${limit};w=1`,
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': String(reset),
  };
  if (window.count > limit) {
    return sendJson(ctx, 429, { error: 'rate limited', limit }, { ...headers, 'retry-after': String(reset) });
  }
  return sendJson(ctx, 200, { ok: true, limit, remaining }, headers);
}
