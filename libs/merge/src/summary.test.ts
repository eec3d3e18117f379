import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addExpected, addResult, createMergeState } from './merge-state.js';
import { summarize } from './summary.js';
import { textReport } from './text-report.js';

const T0 = Date.parse('2026-01-01T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function sample() {
  const s = createMergeState();
  addExpected(s, { id: 'gone', batch: 'b2' });
  for (let i = 0; i < 10; i++)
    addResult(s, {
      id: `p${i}`,
      status: 'passed',
      startedAt: at(i),
      durationMs: 100 * (i + 1),
      batch: 'b1',
      tags: ['smoke'],
    });
  addResult(s, {
    id: 'f1',
    status: 'failed',
    startedAt: at(2),
    durationMs: 50,
    batch: 'b2',
    tags: ['smoke', 'slow'],
    failures: [{ check: 'status', expected: '2xx', actual: '503' }],
  });
  addResult(s, {
    id: 'f2',
    status: 'failed',
    startedAt: at(3),
    durationMs: 60,
    batch: 'b2',
    failures: [{ check: 'status', expected: '2xx', actual: '502' }],
  });
  addResult(s, {
    id: 'e1',
    status: 'error',
    startedAt: at(4),
    durationMs: 5,
    batch: 'b2',
    error: { code: 'ETIMEDOUT', message: 'x' },
  });
  addResult(s, { id: 's1', status: 'skipped', durationMs: 0, batch: 'b2' });
  return s;
}

test('counts, pass rate, wall time, throughput and latency', () => {
  const sum = summarize(sample());
  assert.deepEqual(sum.counts, { total: 15, passed: 10, failed: 2, error: 1, skipped: 1, missing: 1, flaky: 0 });
  assert.equal(sum.passRate, (10 / 14) * 100);
  // First start at +0 s, last end at +9 s + 1000 ms.
  assert.equal(sum.wallMs, 10_000);
  assert.equal(sum.throughput, 13 / 10);
  assert.equal(sum.latency.max, 1000);
  // 13 durations: 5, 50, 60, 100 … 1000; the 7th is the median.
  assert.equal(sum.latency.p50, 400);
  assert.deepEqual(
    sum.slowest.slice(0, 2).map((t) => t.id),
    ['p9', 'p8'],
  );
  assert.equal(
    sum.timeline.finished.reduce((a, b) => a + b, 0),
    13,
  );
  assert.equal(
    sum.histogram.counts.reduce((a, b) => a + b, 0),
    13,
  );
});

test('failures group by check and the pattern of the actual value; errors by code', () => {
  const sum = summarize(sample());
  assert.deepEqual(
    sum.failureGroups.map((g) => [g.reason, g.count, g.examples]),
    [
      ['status expected 2xx, got N', 2, ['f1', 'f2']],
      ['missing: no result', 1, ['gone']],
      ['error ETIMEDOUT', 1, ['e1']],
    ],
  );
});

test('per-tag and per-batch rows, and the text report shows them', () => {
  const sum = summarize(sample());
  assert.deepEqual(
    sum.tags.map((r) => [r.key, r.counts.total, r.counts.failed]),
    [
      ['slow', 1, 1],
      ['smoke', 11, 1],
    ],
  );
  assert.deepEqual(
    sum.batches.map((r) => [r.key, r.counts.total, r.counts.missing]),
    [
      ['b1', 10, 0],
      ['b2', 5, 1],
    ],
  );
  const text = textReport(sum, [], 'failed', 'sample \u001b[31mrun\u001b[0m');
  assert.match(text, /^capi test summary: sample run\nverdict: FAILED\n/);
  assert.match(text, /per batch\n.*\n.*\nb1 +10 +10 +0 +0 +0 +0 +100\.00%/);
  assert.match(text, /missing \(1\)\n {2}gone\n/);
});
