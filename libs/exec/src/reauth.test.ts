import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestRecord } from '@capi/core';
import { MAX_TIMER_MS } from './backoff.js';
import { createPhases, type RunRow } from './phases.js';
import { createReauth, EXPIRY_SHARE, expiryDelay, MIN_RELOGIN_MS } from './reauth.js';

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

test('dispose waits for a setup in flight and starts none after: nothing is recorded once the engine ends', async () => {
  const phases = createPhases();
  phases.addSetup({ id: 'login', phase: 'setup' } as TestRecord);
  let runs = 0;
  let recordedAfterDispose = 0;
  let disposed = false;
  const run: RunRow = async () => {
    runs++;
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (disposed) recordedAfterDispose++;
    // 1.2 s: a re-login ahead of expiry at 1.08 s, over the floor since the first setup
    return { status: 'passed', captured: { expires_in: '1.2' } };
  };
  const reauth = createReauth({ phases, run, statuses: new Set([401]) });
  assert.equal(await reauth.renew(0), true);
  // the timer's re-login starts at about 1.08 s and its row takes 50 ms: dispose lands inside it
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const ending = reauth.dispose();
  await ending;
  disposed = true;
  const before = runs;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(runs, before, 'no setup starts after dispose');
  assert.equal(recordedAfterDispose, 0, 'the setup in flight ended before dispose resolved');
  assert.equal(reauth.count, runs - 1);
});
