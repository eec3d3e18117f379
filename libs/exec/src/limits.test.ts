import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, parseRetryAfter } from './backoff.js';
import { controlEffect } from './control.js';
import { parseMaxErrors, parseRate } from './rate.js';
import { readRateHint } from './rate-headers.js';

test('rates: per second, minute, hour; bad ones are usage errors', () => {
  assert.equal(parseRate('20/s'), 20);
  assert.equal(parseRate('600/m'), 10);
  assert.equal(parseRate('3600/h'), 1);
  assert.equal(parseRate('5'), 5);
  assert.throws(() => parseRate('fast'), /--rate takes/);
  assert.throws(() => parseRate('0/s'), /--rate takes/);
});

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

test('rate-limit headers: IETF draft forms and X-RateLimit', () => {
  assert.deepEqual(readRateHint({ ratelimit: 'limit=10, remaining=3, reset=1' }), { remaining: 3, resetS: 1 });
  assert.deepEqual(readRateHint({ ratelimit: '"default";r=0;t=7' }), { remaining: 0, resetS: 7 });
  assert.deepEqual(readRateHint({ 'x-ratelimit-remaining': '5', 'x-ratelimit-reset': '2' }), {
    remaining: 5,
    resetS: 2,
  });
  const now = 1_700_000_000_000;
  assert.deepEqual(readRateHint({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1700000004' }, now), {
    remaining: 0,
    resetS: 4,
  });
  assert.equal(readRateHint({}), null);
});

test('control.json: the rate is shared by the workers', () => {
  assert.deepEqual(controlEffect({ paused: true, rate: '50/s', concurrency: 8, workers: 4 }), {
    paused: true,
    rate: 12.5,
    concurrency: 8,
  });
  assert.deepEqual(controlEffect({ rate: 'junk', concurrency: -1 }), { paused: false, rate: null, concurrency: null });
});
