import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRandom } from '@capi/core';
import { itemFor, parseItemId } from './item.js';
import { createTokenBucket } from './token-bucket.js';

test('token bucket: a burst of rate, then refills at rate per second', () => {
  const bucket = createTokenBucket(4);
  const t0 = performance.now();
  for (let i = 0; i < 4; i++) assert.equal(bucket.take(t0).ok, true);
  const denied = bucket.take(t0);
  assert.deepEqual(denied, { ok: false, retryAfterS: 1 });
  assert.equal(bucket.take(t0 + 260).ok, true, 'a quarter second gives one token back');
  assert.equal(bucket.take(t0 + 270).ok, false);
});

test('token bucket: below one per second, one request passes, then Retry-After says when', () => {
  const bucket = createTokenBucket(0.25);
  const t0 = performance.now();
  assert.equal(bucket.take(t0).ok, true);
  const r = bucket.take(t0);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.retryAfterS, 4);
  assert.equal(bucket.take(t0 + 4010).ok, true);
});

test('parseItemId: digits 0..10000 only', () => {
  assert.equal(parseItemId('0'), 0);
  assert.equal(parseItemId('10000'), 10000);
  assert.equal(parseItemId('10001'), null);
  assert.equal(parseItemId('abc'), null);
  assert.equal(parseItemId('1e3'), null);
  assert.equal(parseItemId(''), null);
});

test('itemFor is deterministic', () => {
  assert.deepEqual(itemFor(42), itemFor(42));
  assert.notDeepEqual(itemFor(1), itemFor(2));
  assert.equal(itemFor(9).name, 'item-9');
});

test('createRandom: same seed same sequence, values in [0, 1)', () => {
  const a = createRandom(3);
  const b = createRandom(3);
  const xs = Array.from({ length: 100 }, () => a());
  assert.deepEqual(
    xs,
    Array.from({ length: 100 }, () => b()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});
