import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, paint, useColor } from './term.js';

const tty = { isTTY: true } as NodeJS.WriteStream;
const pipe = { isTTY: false } as NodeJS.WriteStream;

test('useColor: NO_COLOR wins, FORCE_COLOR forces, else only a real terminal', () => {
  assert.equal(useColor(tty, { NO_COLOR: '1', FORCE_COLOR: '1' }), false);
  assert.equal(useColor(pipe, { FORCE_COLOR: '1' }), true);
  assert.equal(useColor(tty, { FORCE_COLOR: '0', TERM: 'xterm' }), true);
  assert.equal(useColor(tty, { TERM: 'xterm' }), true);
  assert.equal(useColor(tty, { TERM: 'dumb' }), false);
  assert.equal(useColor(pipe, { TERM: 'xterm' }), false);
  assert.equal(useColor(tty, { NO_COLOR: '', TERM: 'xterm' }), true);
});

test('paint adds escapes only when on', () => {
  assert.equal(paint(false)('red', 'x'), 'x');
  assert.equal(paint(true)('red', 'x'), '\x1b[31mx\x1b[0m');
});

test('formatDuration', () => {
  assert.equal(formatDuration(5), '5.0s');
  assert.equal(formatDuration(90), '1.5m');
  assert.equal(formatDuration(3600 + 30 * 60), '1h30m');
  assert.equal(formatDuration(2 * 3600 - 10), '2h00m');
  assert.equal(formatDuration(-1), '?');
  assert.equal(formatDuration(Number.NaN), '?');
});
