import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, parseRetryAfter, timerMs } from './backoff.js';
import { controlEffect } from './control.js';
import { parseMaxErrors } from './rate.js';
import { readRateHint, resetSeconds } from './rate-headers.js';

test('max errors: a count or a percentage', () => {
  assert.deepEqual(parseMaxErrors('10'), { count: 10, percent: null });
  assert.deepEqual(parseMaxErrors('12.5%'), { count: null, percent: 12.5 });
  assert.throws(() => parseMaxErrors('x'), /--max-errors/);
  assert.throws(() => parseMaxErrors('120%'), /--max-errors/);
});

test('Retry-After: seconds or an HTTP date', () => {
  assert.equal(parseRetryAfter('2'), 2000);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now), 3000);
  assert.equal(parseRetryAfter(undefined), null);
  assert.equal(parseRetryAfter('soon'), null);
});

test('backoff: full jitter under an exponential cap', () => {
  assert.equal(
    backoffMs(1, () => 0.999),
    99,
  );
  assert.equal(
    backoffMs(3, () => 0.5),
    200,
  );
  assert.equal(
    backoffMs(30, () => 0.999),
    9990,
  );
  assert.equal(
    backoffMs(2, () => 0),
    0,
  );
});

const hint = (h: Record<string, string>, now = 1_700_000_000_000) => {
  const r = readRateHint(h, now);
  return r && { remaining: r.remaining, resetS: r.resetS };
};

test('rate-limit headers: IETF draft forms, X-RateLimit and X-Rate-Limit', () => {
  assert.deepEqual(hint({ ratelimit: 'limit=10, remaining=3, reset=1' }), { remaining: 3, resetS: 1 });
  assert.deepEqual(hint({ ratelimit: '"default";r=0;t=7' }), { remaining: 0, resetS: 7 });
  // Several policies: the tightest wins; a missing t takes RateLimit-Policy's window.
  assert.deepEqual(hint({ ratelimit: '"burst";r=9;t=1, "day";r=0;t=3600' }), { remaining: 0, resetS: 3600 });
  assert.deepEqual(hint({ ratelimit: '"day";r=0', 'ratelimit-policy': '"day";q=100;w=60' }), {
    remaining: 0,
    resetS: 60,
  });
  assert.deepEqual(hint({ 'ratelimit-remaining': '1', 'ratelimit-reset': '2.5' }), { remaining: 1, resetS: 2.5 });
  assert.deepEqual(hint({ 'x-ratelimit-remaining': '5', 'x-ratelimit-reset': '2' }), { remaining: 5, resetS: 2 });
  assert.deepEqual(hint({ 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': '9' }), { remaining: 0, resetS: 9 });
  assert.equal(readRateHint({}), null);
});

test('reset values are read by their size: delta seconds, Unix seconds, Unix milliseconds, dates', () => {
  const now = 1_700_000_000_000;
  const at = (reset: string) => hint({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }, now)?.resetS;
  assert.equal(at('0'), 0);
  assert.equal(at('30'), 30);
  assert.equal(at('999999999'), 999_999_999); // 31 years as a delta: --max-pause refuses it
  assert.equal(at('1700000004'), 4); // Unix seconds
  assert.equal(at('1700000004000'), 4); // Unix milliseconds, not 54,000 years
  assert.equal(at('1600000000'), 0); // Unix seconds past
  assert.equal(at('1600000000000'), 0); // Unix ms past
  assert.equal(at('Tue, 14 Nov 2023 22:13:30 GMT'), 10);
  for (const bad of ['-5', '', 'soon', '1e3', '0x10', 'NaN']) assert.equal(at(bad), undefined, bad);
  assert.equal(hint({ 'x-ratelimit-remaining': '-1', 'x-ratelimit-reset': '5' }), null);
  assert.equal(resetSeconds('9'.repeat(400), now), Number.POSITIVE_INFINITY);
});

test('Retry-After: seconds, dates, Unix times by size; huge values stay huge for the cap', () => {
  const now = 1_700_000_000_000;
  assert.equal(parseRetryAfter('1700000005', now), 5000);
  assert.equal(parseRetryAfter('1700000005000', now), 5000);
  assert.equal(parseRetryAfter('-3', now), null);
  assert.equal(parseRetryAfter('9'.repeat(400), now), Number.POSITIVE_INFINITY);
  assert.equal(timerMs(Number.POSITIVE_INFINITY), 2 ** 31 - 1);
  assert.equal(timerMs(-5), 0);
  assert.equal(timerMs(Number.NaN), 0);
});

test('control.json: the rate is shared by the workers', () => {
  assert.deepEqual(controlEffect({ paused: true, rate: '50/s', concurrency: 8, workers: 4 }), {
    paused: true,
    rate: 12.5,
    concurrency: 8,
    stop: false,
    refused: null,
  });
  const junk = controlEffect({ rate: 'junk', concurrency: -1 });
  assert.deepEqual(
    { ...junk, refused: junk.refused !== null },
    {
      paused: false,
      rate: null,
      concurrency: null,
      stop: false,
      refused: true,
    },
  );
});

test("control.json: a concurrency over capi-exec's --concurrency bounds is not taken (core's one rule, run.json's copy too)", () => {
  assert.equal(controlEffect({ concurrency: 10_000 }).concurrency, 10_000);
  assert.equal(controlEffect({ concurrency: 10_001 }).concurrency, null);
  assert.equal(controlEffect({ concurrency: 1e9 }).concurrency, null);
  assert.equal(controlEffect({ concurrency: 2.5 }).concurrency, null);
  assert.equal(controlEffect({ rate: ' 600/m ', workers: 2 }).rate, 5);
});

test('control.json stop: true (capi-launch --hosts pushes it to remote workers) asks for a stop; anything else does not', () => {
  assert.equal(controlEffect({ stop: true, workers: 2 }).stop, true);
  assert.equal(controlEffect(JSON.parse('{"stop":"yes"}')).stop, false);
  assert.equal(controlEffect({}).stop, false);
});
