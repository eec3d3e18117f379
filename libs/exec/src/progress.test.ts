import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLiveState } from './live-state.js';
import { formatProgress, formatSummary } from './progress.js';

test('progress line: done/total, counts, rate and ETA', () => {
  const live = createLiveState(4, 1000);
  Object.assign(live, { done: 380, resumed: 20, passed: 370, failed: 8, errors: 2, rate: 50 });
  assert.equal(formatProgress(live), 'capi-exec: 400/1000 40.0%  pass 370 fail 8 error 2  50.0 tests/s eta 12.0s');
  live.total = null;
  assert.equal(formatProgress(live), 'capi-exec: 400  pass 370 fail 8 error 2  50.0 tests/s');
});

test('summary line: counts and time', () => {
  const line = formatSummary({
    passed: 90,
    failed: 5,
    errors: 5,
    skipped: 2,
    cut: 1,
    durationMs: 2000,
    stoppedBy: null,
    reason: null,
    resumed: 10,
    resumedNotPassed: 1,
  });
  assert.equal(
    line,
    'capi-exec: 100 ran, 90 passed, 5 failed, 5 errors, 2 skipped, 10 already done (1 of them failed or errored), 1 cut (not recorded) in 2.0s, 50.0 tests/s',
  );
});
