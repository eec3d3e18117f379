import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  batchLines,
  fitLabel,
  headerSegments,
  type Layout,
  planLayout,
  type Rect,
  wrapSegments,
} from './dashboard-layout.js';
import type { Snapshot } from './snapshot.js';

function snap(extra: Partial<Snapshot> = {}): Snapshot {
  return {
    type: 'snapshot',
    at: '2026-01-01T10:40:00.000Z',
    runId: 'capi_test_20260101_103000',
    kind: 'run',
    method: 'nohup',
    suite: '/suites/a/rather/long/path/to/the/suite.csv',
    state: 'STALLED',
    runState: 'running',
    verdict: null,
    ended: false,
    exitCode: null,
    pid: 123456,
    pidAlive: true,
    started: '2026-01-01T10:30:00.000Z',
    elapsedS: 35_999,
    etaS: 35_999,
    lastUpdate: null,
    stalledS: 599,
    apiPausedUntil: null,
    total: 1_000_000,
    remaining: 987_654,
    done: 12_346,
    passed: 12_000,
    failed: 300,
    errors: 46,
    skipped: 0,
    percent: 1.2346,
    passRate: 97.2,
    rate: 123.4,
    rateLimit: null,
    rateSeries: [],
    batchStates: { running: 2 },
    batches: [],
    failureCount: 346,
    failures: [],
    logFile: null,
    logTail: [],
    resume: 'capi-launch --stop capi_test_20260101_103000 && capi-launch --resume capi_test_20260101_103000',
    badLines: 0,
    hosts: [],
    ...extra,
  };
}

const text = (lines: ReturnType<typeof wrapSegments>) => lines.map((l) => l.map((s) => s.text).join(''));

test('on 80 columns the first header line holds the state, elapsed, ETA and rate; the next the progress', () => {
  // The longest state line there is: STALLED (no ETA: nothing moved for a while), 10 h in.
  const lines = text(wrapSegments(headerSegments(snap({ etaS: null }), 'stop cancelled', 78), 78));
  assert.match(
    lines[0] as string,
    /^State STALLED \(no heartbeat 10\.0m\) {2}elapsed 10h00m {2}ETA - {2}rate 123 tests\/s$/,
  );
  assert.match(lines[1] as string, /^\[-+\] 12,346 \/ 1,000,000 \(1\.2%\) {2}success 97\.2%$/);
  assert.ok(
    lines.every((l) => l.length <= 78),
    lines.join('\n'),
  );
  assert.ok(lines.some((l) => l.startsWith('resume: capi-launch --stop capi_test_20260101_103000 &&')));
  const at = lines.findIndex((l) => l.startsWith('resume:'));
  assert.equal(lines.slice(at, at + 2).join(' '), `resume: ${snap().resume}`, 'broken between words, not inside one');
  assert.equal(lines.at(-1), 'stop cancelled');
});

test('narrow terminals: the state comes first and no line is wider than the box', () => {
  for (const width of [8, 20, 40, 60]) {
    const lines = text(wrapSegments(headerSegments(snap(), '', width), width));
    assert.ok(lines[0]?.startsWith('State'), `${width}: ${lines[0]}`);
    assert.match(lines.slice(0, 2).join(' '), /State STALLED|State STAL/, `${width}`);
    assert.ok(
      lines.every((l) => l.length <= width),
      `${width}:\n${lines.join('\n')}`,
    );
  }
});

function rects(l: Layout): Rect[] {
  return [l.header, l.status, l.chart, l.batches, l.failures, l.logs].filter((r): r is Rect => r !== null);
}

test('every size: boxes inside the screen, none over another, the header on top', () => {
  for (let width = 10; width <= 200; width += 7)
    for (let height = 3; height <= 60; height += 3)
      for (const headerLines of [3, 4, 6]) {
        const l = planLayout(width, height, headerLines, 5);
        const all = rects(l);
        assert.deepEqual([l.header.top, l.header.left], [0, 0]);
        assert.equal(l.header.height, Math.min(height, headerLines + 2));
        for (const r of all) {
          assert.ok(r.top >= 0 && r.left >= 0 && r.top + r.height <= height && r.left + r.width <= width);
          assert.ok(r.height >= 3, `${width}x${height}: a box too small to show a line`);
        }
        for (const a of all)
          for (const b of all)
            if (a !== b)
              assert.ok(
                a.top + a.height <= b.top ||
                  b.top + b.height <= a.top ||
                  a.left + a.width <= b.left ||
                  b.left + b.width <= a.left,
                `${width}x${height}: overlap`,
              );
      }
});

test('80x24: the header (4 lines), counts, chart, batches and failures all fit; bigger screens add logs', () => {
  const l = planLayout(80, 24, 4, 3);
  assert.equal(l.header.height, 6);
  assert.deepEqual(l.status, { top: 6, left: 56, width: 24, height: 8 });
  assert.ok(l.chart && l.batches && l.failures && l.logs);
  assert.equal((l.failures?.top ?? 0) + (l.failures?.height ?? 0), 24);
  const small = planLayout(60, 12, 4, 3);
  assert.ok(small.status && !small.batches && !small.failures, 'the counts stay longest after the header');
  const tiny = planLayout(40, 5, 4, 3);
  assert.equal(tiny.header.height, 5);
  assert.ok(!tiny.status);
  const big = planLayout(160, 50, 3, 2);
  assert.equal(big.batches?.height, 5, 'batches take only the rows they fill');
});

test('labels are cut to their box; batch rows to its width', () => {
  assert.equal(fitLabel(' Batches (running 2) ', 40), ' Batches (running 2) ');
  const cut = fitLabel(' Latest failures: all (2,059 in all; f cycles) ', 30);
  assert.ok(cut.length <= 26 && cut.startsWith(' Latest failures'), cut);
  const rows = batchLines(
    snap({
      batches: [
        {
          batch: 'batch_0001',
          pid: 1,
          state: 'running',
          done: 5,
          total: 10,
          passRate: 100,
          rate: 2,
          current: 'T00006-a-long-id',
        },
      ],
    }),
    90,
  );
  assert.equal(rows.length, 2);
  assert.match(rows[1] as string, /^batch_0001 +1 +running +5\/10 +100\.0 +2\.0 +T00006-a-long-id$/);
  assert.ok(batchLines(snap({ batches: [] }), 30).every((r) => r.length <= 30));
});

test('the rate limit follows the rate on the state line; one not taken is red and wraps whole on 80 columns', () => {
  const good = snap({
    state: 'RUNNING',
    stalledS: null,
    elapsedS: 3723,
    etaS: 750,
    rate: 1234,
    rateLimit: { rate: '200/s', perSecond: 200, notTaken: [], text: 'limit 200/s' },
  });
  const lines = text(wrapSegments(headerSegments(good, '', 78), 78));
  assert.match(lines[0] as string, /^State RUNNING {2}elapsed .+ {2}rate 1234 tests\/s {2}limit 200\/s$/);
  assert.ok((lines[0] as string).length <= 78);
  const bad = snap({
    ...good,
    rateLimit: {
      rate: '200/s',
      perSecond: 200,
      notTaken: ['rate'],
      text: 'control.json rate "fast" not taken; 200/s in force',
    },
  });
  const segments = headerSegments(bad, '', 78)[0] ?? [];
  assert.deepEqual(segments.at(-1), { text: 'control.json rate "fast" not taken; 200/s in force', paint: 'red' });
  const wrapped = text(wrapSegments(headerSegments(bad, '', 78), 78));
  assert.ok(wrapped.includes('control.json rate "fast" not taken; 200/s in force'), wrapped.join('\n'));
  // a running run's header one line taller: 80x24 still shows every box
  const plain = text(wrapSegments(headerSegments(snap({ ...good, rateLimit: null, resume: null }), '', 78), 78));
  const taller = text(wrapSegments(headerSegments({ ...bad, resume: null }, '', 78), 78));
  assert.equal(taller.length, plain.length + 1, taller.join('\n'));
  const l = planLayout(80, 24, taller.length, 3);
  assert.ok(l.status && l.chart && l.batches && l.failures, JSON.stringify(l));
});
