import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addTestCounts, countResult, emptyTestCounts, testCountsOf } from './test-counts.js';

test('countResult: each status to its count, the word errors for error', () => {
  const c = emptyTestCounts();
  for (const s of ['passed', 'passed', 'failed', 'error', 'skipped'] as const) countResult(c, s);
  assert.deepEqual(c, { done: 5, passed: 2, failed: 1, errors: 1, skipped: 1 });
});

test('countResult: a status outside the known ones (a hand-edited file) is done only, never NaN', () => {
  const c = emptyTestCounts();
  for (const s of ['weird', 'toString', '__proto__', 'errors']) countResult(c, s);
  assert.deepEqual(c, { done: 4, passed: 0, failed: 0, errors: 0, skipped: 0 });
});

test('addTestCounts sums; testCountsOf copies the counts out of a larger record', () => {
  const sum = { done: 1, passed: 1, failed: 0, errors: 0, skipped: 0 };
  addTestCounts(sum, { done: 3, passed: 0, failed: 1, errors: 1, skipped: 1 });
  assert.deepEqual(sum, { done: 4, passed: 1, failed: 1, errors: 1, skipped: 1 });
  const beat = { ...sum, state: 'running', batch: 'x' };
  assert.deepEqual(testCountsOf(beat), sum);
});
