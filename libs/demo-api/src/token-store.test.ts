import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTokenStore } from './token-store.js';

function clock(start = 1000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('token store: a token is valid until its TTL, then expired, then unknown after the grace', () => {
  const c = clock();
  const store = createTokenStore({ now: c.now, graceMs: 500 });
  const token = store.issue(1000);
  assert.equal(store.check(token), 'valid');
  c.t += 999;
  assert.equal(store.check(token), 'valid');
  c.t += 1;
  assert.equal(store.check(token), 'expired', 'expiry is exact: at issue + ttl it no longer works');
  c.t += 499;
  assert.equal(store.check(token), 'expired');
  c.t += 1;
  assert.equal(store.check(token), 'unknown');
  assert.equal(store.counts().held, 0, 'a token found past its grace is dropped');
  assert.equal(store.check('never-issued'), 'unknown');
});

test('token store: tokens are 43 base64url characters of fresh randomness, never repeated', () => {
  const store = createTokenStore();
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const token = store.issue(60_000);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    seen.add(token);
  }
  assert.equal(seen.size, 2000);
});

test('token store: every issue prunes expired tokens from the front, so memory follows the live ones', () => {
  const c = clock();
  const store = createTokenStore({ now: c.now, graceMs: 0 });
  for (let i = 0; i < 100; i++) store.issue(1000);
  assert.equal(store.counts().held, 100);
  c.t += 1000;
  const fresh = store.issue(1000);
  assert.deepEqual(store.counts(), { held: 1, evicted: 0 });
  assert.equal(store.check(fresh), 'valid');
});

test('token store: past max the oldest token is dropped and counted, whatever its expiry', () => {
  const c = clock();
  const store = createTokenStore({ now: c.now, max: 3 });
  const tokens = [store.issue(60_000), store.issue(60_000), store.issue(60_000)];
  const fourth = store.issue(60_000);
  assert.deepEqual(store.counts(), { held: 3, evicted: 1 });
  assert.equal(store.check(tokens[0]!), 'unknown');
  assert.equal(store.check(tokens[1]!), 'valid');
  assert.equal(store.check(fourth), 'valid');
});

test('token store: a long-lived token at the front holds no short one past max', () => {
  const c = clock();
  const store = createTokenStore({ now: c.now, max: 4, graceMs: 0 });
  const long = store.issue(3_600_000);
  for (let i = 0; i < 10; i++) {
    store.issue(10);
    c.t += 20;
  }
  assert.ok(store.counts().held <= 4, JSON.stringify(store.counts()));
  assert.equal(store.check(long), 'unknown', 'evicted as the oldest once the bound was reached');
});
