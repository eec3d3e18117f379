import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CapiError } from '@capi/core';
import { addResult, createMergeState } from './merge-state.js';
import { summarize } from './summary.js';
import { evaluateThresholds, parseThreshold, verdictOf } from './thresholds.js';

test('thresholds parse with units into the metric unit', () => {
  assert.deepEqual(parseThreshold('pass_rate<99%'), { expr: 'pass_rate<99%', metric: 'pass_rate', op: '<', value: 99 });
  assert.equal(parseThreshold('p95 > 0.8s').value, 800);
  assert.equal(parseThreshold('p99>=250ms').op, '>=');
  assert.equal(parseThreshold('throughput<10/s').value, 10);
  assert.equal(parseThreshold('errors>0').metric, 'errors');
  assert.equal(parseThreshold('p(95)<500').metric, 'p95');
  assert.equal(parseThreshold('p99>1m').value, 60_000);
  assert.equal(parseThreshold('max>1.5m').value, 90_000);
  assert.equal(parseThreshold('mean>=1.5s').value, 1500);
  assert.equal(parseThreshold('flaky>0').metric, 'flaky');
  assert.equal(parseThreshold('skipped>10').metric, 'skipped');
});

test('pass_rate without % is refused with a hint, so a k6-style fraction cannot pass a failing run', () => {
  for (const bad of ['pass_rate<0.99', 'pass_rate<99']) {
    assert.throws(
      () => parseThreshold(bad),
      (e: unknown) =>
        e instanceof CapiError &&
        e.exitCode === 2 &&
        e.message ===
          `--fail-if "${bad}": write pass_rate in percent with %, e.g. 'pass_rate<99%' (a fraction like 0.99 is not read as 99%)`,
      bad,
    );
  }
});

test('bad thresholds are usage errors (exit 2)', () => {
  for (const bad of [
    'p95',
    'p95>>1',
    'latency>1ms',
    'failed>1ms',
    'pass_rate<99s',
    'p95>-1ms',
    'flaky>1m',
    'p95>1h',
    '',
  ]) {
    assert.throws(
      () => parseThreshold(bad),
      (e: unknown) => e instanceof CapiError && e.exitCode === 2,
      bad,
    );
  }
});

test('with thresholds the verdict is theirs; without, any failed, error or missing test fails', () => {
  const s = createMergeState();
  for (let i = 0; i < 10; i++)
    addResult(s, { id: `T${i}`, status: i === 0 ? 'failed' : 'passed', durationMs: (i + 1) * 100, attempts: 1 });
  const summary = summarize(s);
  assert.equal(summary.passRate, 90);
  assert.equal(summary.latency.p50, 500);
  assert.equal(summary.latency.p90, 900);
  assert.equal(summary.latency.max, 1000);
  assert.equal(verdictOf(summary, []), 'failed');
  const held = evaluateThresholds(summary, [parseThreshold('pass_rate<80%'), parseThreshold('p90>900ms')]);
  assert.deepEqual(
    held.map((r) => r.crossed),
    [false, false],
  );
  assert.equal(verdictOf(summary, held), 'passed');
  const crossed = evaluateThresholds(summary, [parseThreshold('failed>=1')]);
  assert.equal(verdictOf(summary, crossed), 'failed');
  const counts = evaluateThresholds(summary, [
    parseThreshold('flaky>0'),
    parseThreshold('skipped>0'),
    parseThreshold('mean>550ms'),
  ]);
  assert.deepEqual(
    counts.map((r) => [r.actual, r.crossed]),
    [
      [0, false],
      [0, false],
      [550, false],
    ],
  );
});
