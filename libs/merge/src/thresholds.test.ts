import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CapiError, testsVerdict } from '@capi/core';
import { addResult, createMergeState } from './merge-state.js';
import { summarizeMerge } from './summary.js';
import { decidedBy, evaluateThresholds, parseThreshold, verdictOf } from './thresholds.js';

test('thresholds parse with units into the metric unit', () => {
  assert.deepEqual(parseThreshold('pass_rate<99%'), { expr: 'pass_rate<99%', metric: 'pass_rate', op: '<', value: 99 });
  assert.equal(parseThreshold('p95 > 0.8s').value, 800);
  assert.equal(parseThreshold('p99>=250ms').op, '>=');
  assert.equal(parseThreshold('throughput<10/s').value, 10);
  assert.equal(parseThreshold('p95>800ms').value, 800);
  assert.equal(parseThreshold('errors>0').metric, 'errors');
  assert.equal(parseThreshold('p(95)<500ms').metric, 'p95');
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

test('a threshold without the unit its metric needs is exit 2 naming the unit to write', () => {
  for (const [bad, hint] of [
    ['p95>800', "'p95>800ms' or 'p95>800s'"],
    ['p(95)<800', "'p95<800ms' or 'p95<800s'"],
    ['max>2', "'max>2ms'"],
    ['mean>=1.5', "'mean>=1.5ms'"],
    ['throughput<50', "'throughput<50/s'"],
  ] as const)
    assert.throws(
      () => parseThreshold(bad),
      (e: unknown) => e instanceof CapiError && e.exitCode === 2 && e.message.includes(hint),
      bad,
    );
});

function tenTests(failedCount: number, errorCount = 0) {
  const s = createMergeState();
  for (let i = 0; i < 10; i++) {
    const status = i < failedCount ? 'failed' : i < failedCount + errorCount ? 'error' : 'passed';
    addResult(s, { id: `T${i}`, status, durationMs: (i + 1) * 100, attempts: 1 });
  }
  return summarizeMerge(s);
}

const rules = (summary: ReturnType<typeof summarizeMerge>, ...exprs: string[]) =>
  evaluateThresholds(summary, exprs.map(parseThreshold));

test('thresholds add to the default rule: a latency gate never switches the functional gate off', () => {
  const summary = tenTests(1, 1);
  assert.equal(summary.passRate, 80);
  assert.equal(summary.latency.p90, 900);
  const latency = rules(summary, 'p95>5000ms');
  assert.deepEqual(
    latency.map((r) => [r.expr, r.from, r.crossed]),
    [
      ['failed>0', 'default', true],
      ['errors>0', 'default', true],
      ['missing>0', 'default', false],
      ['teardown>0', 'default', false],
      ['p95>5000ms', 'fail-if', false],
    ],
  );
  assert.equal(verdictOf(latency), 'failed');
  assert.equal(decidedBy(latency), 'decided by failed>0 (default rule), errors>0 (default rule)');
  assert.equal(verdictOf(rules(summary)), 'failed', 'no threshold: the default rule alone');
  assert.equal(verdictOf(rules(tenTests(0), 'p90>900ms')), 'passed');
  assert.equal(verdictOf(rules(tenTests(0), 'p90>=900ms')), 'failed');
  assert.equal(verdictOf(rules(tenTests(0), 'flaky>0', 'skipped>0')), 'passed');
});

test('a threshold on the tests replaces only its part of the default rule', () => {
  const oneFailed = tenTests(1);
  const failedOk = rules(oneFailed, 'failed>5');
  assert.deepEqual(
    failedOk.map((r) => r.expr),
    ['errors>0', 'missing>0', 'teardown>0', 'failed>5'],
  );
  assert.equal(verdictOf(failedOk), 'passed');
  assert.equal(verdictOf(rules(tenTests(1, 1), 'failed>5')), 'failed', 'an error still fails: errors>0 stays');
  assert.equal(verdictOf(rules(tenTests(0, 2), 'errors>3')), 'passed');
  const rate = rules(tenTests(1, 1), 'pass_rate<75%');
  assert.deepEqual(
    rate.map((r) => [r.expr, r.actual, r.crossed]),
    [
      ['teardown>0', 0, false],
      ['pass_rate<75%', 80, false],
    ],
  );
  assert.equal(verdictOf(rate), 'passed', 'pass_rate replaces all three rules on the tests, not teardown>0');
  assert.match(decidedBy(rate), /^every rule held \(teardown>0 \(default rule\), pass_rate<75% \(--fail-if\)\)$/);
  assert.equal(verdictOf(rules(tenTests(3), 'pass_rate<75%')), 'failed');
});

test('a pass rate over no judged test is null, and a pass_rate rule then holds', () => {
  const s = createMergeState();
  addResult(s, { id: 'S', status: 'skipped', durationMs: 0, attempts: 0 });
  const summary = summarizeMerge(s);
  assert.equal(summary.passRate, null);
  const r = rules(summary, 'pass_rate<99%');
  assert.deepEqual(
    r.map((x) => [x.actual, x.crossed]),
    [
      [0, false],
      [null, false],
    ],
  );
});

test('threshold values are measured in the metric unit', () => {
  const summary = tenTests(1);
  assert.equal(summary.passRate, 90);
  assert.equal(summary.latency.p50, 500);
  assert.equal(summary.latency.max, 1000);
  const counts = rules(summary, 'flaky>0', 'skipped>0', 'mean>550ms');
  assert.deepEqual(
    counts.slice(4).map((r) => [r.actual, r.crossed]),
    [
      [0, false],
      [0, false],
      [550, false],
    ],
  );
});

test("without --fail-if the rules are core's default rule, testsVerdict", () => {
  for (const [failed, errors] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [3, 2],
  ] as const) {
    const summary = tenTests(failed, errors);
    const c = summary.counts;
    assert.equal(
      verdictOf(rules(summary)),
      testsVerdict({ failed: c.failed, errors: c.errors, missing: c.missing, teardownFailed: 0 }),
      `${failed} ${errors}`,
    );
  }
});

test('a failed teardown row fails the run by default (teardown>0), counted by its last result per batch', () => {
  const s = createMergeState();
  addResult(s, { id: 'T1', status: 'passed', durationMs: 1, attempts: 1, batch: 'batch_0001' });
  addResult(s, { id: 'bye', status: 'failed', phase: 'teardown', durationMs: 1, attempts: 1, batch: 'batch_0001' });
  addResult(s, { id: 'bye', status: 'passed', phase: 'teardown', durationMs: 1, attempts: 1, batch: 'batch_0002' });
  const failedOne = summarizeMerge(s);
  assert.equal(failedOne.phases.teardownFailed, 1);
  assert.equal(failedOne.passRate, 100, 'a teardown row is no test');
  assert.equal(verdictOf(rules(failedOne)), 'failed');
  assert.equal(decidedBy(rules(failedOne)), 'decided by teardown>0 (default rule)');
  assert.equal(verdictOf(rules(failedOne, 'pass_rate<99%')), 'failed', 'pass_rate does not replace teardown>0');
  assert.equal(verdictOf(rules(failedOne, 'teardown>1')), 'passed', 'a --fail-if on teardown replaces it');
  // the batch's teardown ran again on resume and passed: its last result counts
  addResult(s, { id: 'bye', status: 'passed', phase: 'teardown', durationMs: 1, attempts: 1, batch: 'batch_0001' });
  assert.equal(verdictOf(rules(summarizeMerge(s))), 'passed');
});
