import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addExpected, addResult, createMergeState } from './merge-state.js';
import { summarizeMerge } from './summary.js';
import { textReport } from './text-report.js';

const T0 = Date.parse('2026-01-01T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function sample(opts: Parameters<typeof createMergeState>[0] = {}) {
  const s = createMergeState(opts);
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
    // a status failure shows the start of the body (capi-exec): the group is the status alone
    failures: [{ check: 'status', expected: '2xx', actual: '500, body: {"error":"db down at node 7"}' }],
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
  const sum = summarizeMerge(sample());
  assert.deepEqual(sum.counts, { total: 15, passed: 10, failed: 2, errors: 1, skipped: 1, missing: 1, flaky: 0 });
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
  const sum = summarizeMerge(sample());
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
  const sum = summarizeMerge(sample());
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

test('tests that never sent a request count in the totals but not in the latency stats', () => {
  const s = createMergeState();
  for (let i = 0; i < 4; i++)
    addResult(s, {
      id: `p${i}`,
      status: 'passed',
      startedAt: at(i),
      durationMs: 100 * (i + 1),
      response: { status: 200, bytes: 2 },
      attempts: 1,
    });
  // TEMPLATE / BAD_URL: no try at all; BAD_EXPECT: one try counted but no time and no response.
  addResult(s, {
    id: 'tmpl',
    status: 'error',
    startedAt: at(1),
    durationMs: 0,
    response: null,
    attempts: 0,
    error: { code: 'TEMPLATE', message: 'no value for {{nope}}' },
  });
  addResult(s, {
    id: 'exp',
    status: 'error',
    startedAt: at(1),
    durationMs: 0,
    response: null,
    attempts: 1,
    error: { code: 'BAD_EXPECT', message: 'bad status pattern' },
  });
  // A timeout did send: it stays in the stats.
  addResult(s, {
    id: 'slow',
    status: 'error',
    startedAt: at(2),
    durationMs: 900,
    response: null,
    attempts: 2,
    error: { code: 'TIMEOUT', message: 'no answer in 900 ms' },
  });
  const sum = summarizeMerge(s);
  assert.equal(sum.counts.total, 7);
  assert.equal(sum.counts.errors, 3);
  assert.equal(sum.notSent, 2);
  assert.deepEqual(sum.latency, { p50: 300, p90: 900, p95: 900, p99: 900, max: 900, mean: 1900 / 5 });
  assert.deepEqual(
    sum.slowest.map((t) => t.id),
    ['slow', 'p3', 'p2', 'p1', 'p0'],
  );
  assert.equal(
    sum.histogram.counts.reduce((a, b) => a + b, 0),
    5,
  );
  assert.match(textReport(sum, [], 'failed', 't'), /\nlatency \(2 tests that never sent a request left out\)\n/);
  // A rerun that did send replaces the unsent record, and its time counts again.
  addResult(s, {
    id: 'tmpl',
    status: 'passed',
    startedAt: at(5),
    durationMs: 50,
    response: { status: 200, bytes: 2 },
    attempts: 1,
  });
  const again = summarizeMerge(s);
  assert.equal(again.notSent, 1);
  assert.equal(again.latency.mean, 1950 / 6);
});

test('the summary and text report are the same whether rows keep their full text, only their name, or go to disk', () => {
  const full = summarizeMerge(sample());
  for (const opts of [{ short: true }, { short: true, spoolInMemory: 64 }, { csv: true, spoolInMemory: 64 }]) {
    const state = sample(opts);
    const other = summarizeMerge(state);
    assert.deepEqual(other, full, JSON.stringify(opts));
    assert.equal(textReport(other, [], 'failed', 't'), textReport(full, [], 'failed', 't'));
    state.tests.close();
  }
});

test('failure groups read from the reasons seen before are the ones each row read back gives', async () => {
  const { reasonOf } = await import('./reason.js');
  for (const opts of [{ csv: true }, { short: true }, { spoolInMemory: 2048 }]) {
    const s = createMergeState(opts);
    for (let i = 0; i < 40; i++) addExpected(s, { id: `m${i}`, name: `missing ${i}`, batch: 'b' });
    const errors: Array<Record<string, unknown>> = [
      { code: 'ETIMEDOUT', message: 'slow' },
      { x: 1, batch: 'x', code: 'A', message: ',"batch":"y"' },
      { x: 1, batch: 'x', code: 'B', message: ',"batch":"y"' },
      { code: 'C', message: 'ä ,\\"batch\\": ✓' },
    ];
    for (let i = 0; i < 300; i++) {
      const failed = i % 3 !== 0;
      addResult(s, {
        id: i % 7 === 0 ? `m${i % 40}` : `t${i}`,
        status: failed ? 'failed' : 'error',
        startedAt: at(i),
        durationMs: i,
        batch: `b${i % 2}`,
        tags: [],
        failures: failed
          ? [
              { check: i % 5 === 0 ? 'body' : 'status', expected: '2xx', actual: `${500 + (i % 4)}, body: {"a":"b"}` },
              ...(i % 11 === 0 ? [{ check: 'json', expected: ',"batch":1', actual: `v${i % 3}` }] : []),
            ]
          : [],
        error: failed ? null : errors[i % errors.length],
      });
    }
    // a later passing record of some failed ids (no longer failed), and one more failure again
    addResult(s, { id: 't1', status: 'passed', startedAt: at(1000), durationMs: 1 });
    addResult(s, { id: 't2', status: 'failed', startedAt: at(1000), durationMs: 1, failures: [] });
    const summary = summarizeMerge(s);
    // the reference: every row read back and its reason worked out, in row order
    const want = new Map<string, { count: number; examples: string[] }>();
    for (let i = 0; i < s.tests.size; i++) {
      const t = s.tests.view(i);
      const reason = reasonOf(t);
      if (reason === null) continue;
      const g = want.get(reason) ?? { count: 0, examples: [] };
      g.count++;
      if (g.examples.length < 5) g.examples.push(t.id);
      want.set(reason, g);
    }
    const got = new Map(summary.failureGroups.map((g) => [g.reason, { count: g.count, examples: g.examples }]));
    assert.deepEqual(got, want, JSON.stringify(opts));
    assert.ok(got.has('error A') && got.has('error B') && got.has('error C'), 'errors with a "batch" key apart');
    s.tests.close();
  }
});
