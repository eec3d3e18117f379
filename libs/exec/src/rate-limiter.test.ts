import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRateLimiter } from './rate-limiter.js';

async function starts(limiter: ReturnType<typeof createRateLimiter>, n: number, lanes: number): Promise<number[]> {
  const times: number[] = [];
  let left = n;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (left > 0) {
        left--;
        await limiter.take();
        times.push(performance.now());
      }
    }),
  );
  return times.sort((a, b) => a - b);
}

test('pace: starts are spaced at the rate, never in a burst', async () => {
  const times = await starts(createRateLimiter(100), 40, 8);
  const span = (times.at(-1) as number) - (times[0] as number);
  // 39 intervals of 10 ms (+1.5% headroom), less the catch-up allowance; never early.
  assert.ok(span >= 380, `span ${span}`);
  assert.ok(span < 700, `span ${span}`);
  for (let i = 1; i < times.length; i++) assert.ok((times[i] as number) - (times[i - 1] as number) > 0);
  const window = times.filter((t) => t < (times[0] as number) + 100).length;
  assert.ok(window <= 11, `window ${window}`);
});

test('no rate: take resolves at once; a pause holds every lane', async () => {
  const limiter = createRateLimiter(null);
  const t0 = performance.now();
  await starts(limiter, 100, 4);
  assert.ok(performance.now() - t0 < 50);
  limiter.pauseFor(300);
  const t1 = performance.now();
  await starts(limiter, 4, 4);
  assert.ok(performance.now() - t1 >= 290);
});

test('429 throttles the pace to half, which then recovers', () => {
  let now = 0;
  const limiter = createRateLimiter(100, () => now);
  limiter.throttle(80);
  assert.equal(limiter.effectiveRate(), 40);
  limiter.throttle(40);
  assert.equal(limiter.effectiveRate(), 40, 'a burst of 429s halves the pace once');
  now = 5000;
  const later = limiter.effectiveRate() as number;
  assert.ok(later > 60 && later < 100, `later ${later}`);
  now = 20_000;
  assert.equal(limiter.effectiveRate(), 100);
});

test('hints: a spent window pauses, a low one paces', () => {
  let now = 0;
  const limiter = createRateLimiter(null, () => now);
  limiter.hint(0, 2, 4);
  assert.equal(limiter.pausedUntil, 2000);
  limiter.hint(4, 2, 4);
  assert.equal(limiter.effectiveRate(), 2);
  now = 2500;
  assert.equal(limiter.effectiveRate(), null);
});

test('a pause over the cap is refused: take() answers false at once and refusal() says why', async () => {
  let t = 0;
  const limiter = createRateLimiter(null, () => t, 300_000);
  assert.equal(limiter.pauseFor(1000, 'Retry-After: 1'), true);
  assert.equal(limiter.refusal(), null);
  const waiting = limiter.take();
  assert.equal(limiter.pauseFor(999_999_999_000, 'X-RateLimit-Reset: 999999999'), false);
  assert.equal(await waiting, false);
  assert.equal(limiter.take(), false);
  assert.match(
    limiter.refusal() ?? '',
    /pause of \d+ years.*X-RateLimit-Reset: 999999999.*longer than --max-pause 300 s/,
  );
  // Once the refused pause would have ended, tests start again.
  t = 1_000_000_000_001;
  assert.equal(limiter.refusal(), null);
  assert.equal(limiter.take(), true);
  assert.equal(limiter.pauseFor(Number.POSITIVE_INFINITY), false);
  assert.match(limiter.refusal() ?? '', /pause of forever \(until never/);
});

test('a spent window within the cap pauses; the wall-clock end is shown; cancelAll is final', async () => {
  const limiter = createRateLimiter(null, undefined, 300_000);
  limiter.hint(0, 0.2, 4, 'RateLimit: "d";r=0;t=0.2');
  const until = limiter.pausedUntilWall();
  assert.ok(until !== null && until > Date.now() && until < Date.now() + 1000);
  const started = performance.now();
  assert.equal(await limiter.take(), true);
  assert.ok(performance.now() - started >= 150);
  limiter.cancelAll();
  assert.equal(limiter.take(), false);
});

test('--max-pause 0: a window that resets now is no pause to refuse; any real one is refused', () => {
  let t = 0;
  const limiter = createRateLimiter(null, () => t, 0);
  limiter.hint(0, 0, 4);
  assert.equal(limiter.refusal(), null);
  t = 100;
  assert.equal(limiter.take(), true);
  limiter.hint(0, 1, 4, 'X-RateLimit-Reset: 1');
  assert.match(limiter.refusal() ?? '', /pause of 1 s .*longer than --max-pause 0 s/);
});
