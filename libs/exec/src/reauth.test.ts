import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TIMER_MS } from './backoff.js';
import { EXPIRY_SHARE, expiryDelay, MIN_RELOGIN_MS } from './reauth.js';

test('expires_in: 90 % of a number of seconds; never under the floor; not a positive number is no expiry', () => {
  assert.deepEqual(expiryDelay('3600'), { ms: 3600 * 1000 * EXPIRY_SHARE, warning: null });
  assert.deepEqual(expiryDelay(' 2.5 '), { ms: 2500 * EXPIRY_SHARE, warning: null });
  for (const tiny of ['0.001', '1', '1e-9', '.5']) {
    const d = expiryDelay(tiny);
    assert.equal(d.ms, MIN_RELOGIN_MS, tiny);
    assert.match(d.warning ?? '', /at most once every 1 s/);
  }
  for (const bad of ['0', '-5', 'NaN', 'Infinity', '', '0x10', 'eyJhbGciOiJIUzI1NiJ9.secret', '1e400']) {
    const d = expiryDelay(bad);
    assert.equal(d.ms, null, bad);
    assert.match(d.warning ?? '', /not a positive number of seconds/);
  }
  assert.equal(expiryDelay('1e308').ms, MAX_TIMER_MS);
});

test('the warning never carries the value', () => {
  const value = 'sEcReT-token-in-expires-in';
  assert.doesNotMatch(expiryDelay(value).warning ?? '', /sEcReT|token-in/);
});
