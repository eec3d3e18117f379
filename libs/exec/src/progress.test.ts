import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLiveState, createRateMeter } from './live-state.js';
import { formatProgress, formatSummary } from './progress.js';

test('progress line: done/total, counts, rate and ETA', () => {
  const live = createLiveState(4, 1000);
  Object.assign(live, { done: 380, resumed: 20, passed: 370, failed: 8, errors: 2, rate: 50 });
  assert.equal(formatProgress(live), 'capi-exec: 400/1000 40.0%  pass 370 fail 8 error 2  50.0 tests/s eta 12.0s');
  live.total = null;
  assert.equal(formatProgress(live), 'capi-exec: 400  pass 370 fail 8 error 2  50.0 tests/s');
});

test('summary line: counts and time', () => {
  const summary = {
    passed: 90,
    failed: 5,
    errors: 5,
    skipped: 2,
    cut: 1,
    durationMs: 2000,
    stoppedBy: null,
    reason: null,
    setupFailed: null,
    relogins: 0,
    resumed: 10,
    resumedNotPassed: 1,
    teardownFailed: 0,
  };
  assert.equal(
    formatSummary(summary),
    'capi-exec: 100 ran, 90 passed, 5 failed, 5 errors, 2 skipped, 10 already done (1 of them failed or errored), 1 cut (not recorded) in 2.0s, 50.0 tests/s',
  );
  assert.match(formatSummary({ ...summary, teardownFailed: 2 }), /1 cut \(not recorded\), 2 teardown rows failed in/);
});

test('the rate starts as the average since the start, then covers the last 5 s', () => {
  const live = createLiveState(4, 3000);
  let t = 1000;
  const sample = createRateMeter(live, () => t);
  // Within the first second, before any sample: 150 tests in 0.5 s.
  t = 1500;
  live.done = 150;
  assert.match(formatProgress(live), / 300\.0 tests\/s eta 9\.5s$/);
  t = 2000;
  live.done = 300;
  sample();
  assert.equal(live.rate, 300);
  // 8 more seconds at 100/s: the window forgets the fast start.
  for (let i = 0; i < 8; i++) {
    t += 1000;
    live.done += 100;
    sample();
  }
  assert.equal(live.rate, 100);
  // A pause (a Retry-After wait) lowers it gradually, not to 0 at once.
  t += 1000;
  sample();
  assert.equal(live.rate, 80);
});
