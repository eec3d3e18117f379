import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxLines, logEntry, wrapText } from './dashboard-layout.js';

test('wrapText breaks after words, indents what follows, and breaks a word longer than the line anywhere', () => {
  assert.deepEqual(wrapText('status: expected 2xx, got 500', 12), ['status:', '  expected', '  2xx, got', '  500']);
  assert.deepEqual(wrapText('short', 12), ['short']);
  assert.deepEqual(wrapText('abcdefghijklmnop', 6), ['abcdef', '  ghij', '  klmn', '  op']);
  assert.deepEqual(wrapText('', 10), ['']);
  for (const w of [1, 2, 3, 7, 30])
    for (const line of wrapText('a long reason with words of every size: supercalifragilistic ok', w))
      assert.ok(line.length <= w, `${JSON.stringify(line)} wider than ${w}`);
});

test('boxLines: the newest entries that fit whole, newest last; an older one that does not fit is left out', () => {
  const entries = ['#1 old entry that is long enough to wrap', '#2 mid', '#3 newest entry here'];
  assert.deepEqual(boxLines(entries, 12, 3), ['#2 mid', '#3 newest', '  entry here']);
  // Room for all of them.
  assert.equal(boxLines(entries, 80, 5).length, 3);
  // The newest alone is taller than the box: its start shows.
  assert.deepEqual(boxLines(['#9 a b c d e f g h'], 4, 2), ['#9 a', '  b']);
  assert.deepEqual(boxLines([], 10, 3), []);
});

test('logEntry: the ISO date gives way to the local clock; other lines stay as they are', () => {
  const line = logEntry('capi.log: 2026-01-01T10:30:05.123Z worker 2 started');
  assert.match(line, /^\d\d:\d\d:\d\d capi\.log: worker 2 started$/);
  const d = new Date('2026-01-01T10:30:05.123Z');
  const p = (n: number) => String(n).padStart(2, '0');
  assert.equal(line.slice(0, 8), `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`);
  assert.equal(logEntry('batch_0001.log: plain text'), 'batch_0001.log: plain text');
});
