import assert from 'node:assert/strict';
import { test } from 'node:test';
import { idLines } from './id-lines.js';

test('remembers the first line of each id, across growth of the table', () => {
  const seen = idLines(4);
  for (let i = 0; i < 50_000; i++) assert.equal(seen.firstLine(`T${i}`, i + 2), 0);
  assert.equal(seen.size, 50_000);
  assert.equal(seen.firstLine('T0', 99_999), 2);
  assert.equal(seen.firstLine('T49999', 99_999), 50_001);
  assert.equal(seen.firstLine('t0', 7), 0, 'ids are case-sensitive');
});

test('lineOf looks without remembering', () => {
  const seen = idLines(4);
  assert.equal(seen.lineOf('f1'), 0);
  assert.equal(seen.firstLine('f1', 0), 0, 'a first sight is new, even with no line known');
  assert.equal(seen.firstLine('f2', 9), 0);
  assert.equal(seen.lineOf('f2'), 9);
  assert.equal(seen.lineOf('f3'), 0);
  assert.equal(seen.size, 2, 'lineOf added nothing');
  assert.equal(seen.firstLine('f3', 11), 0);
});
