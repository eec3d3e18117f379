import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressLine } from './progress.js';

function fakeStream(isTTY: boolean) {
  const written: string[] = [];
  const stream = { isTTY, columns: 80, write: (text: string) => written.push(text) > 0 };
  return { stream: stream as unknown as NodeJS.WriteStream, written };
}

test('no progress line when stderr is not a terminal', () => {
  const { stream, written } = fakeStream(false);
  const line = progressLine(stream);
  line.update(100_000);
  line.done();
  assert.deepEqual(written, []);
});

test('on a terminal: rows and rows/s once the input proves large, at most 4 times a second, cleared at the end', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  const saved = process.env.TERM;
  process.env.TERM = 'xterm';
  try {
    const { stream, written } = fakeStream(true);
    const line = progressLine(stream);
    line.update(10_000);
    assert.deepEqual(written, [], 'small inputs finish before a line is worth it');
    t.mock.timers.tick(2000);
    line.update(200_000);
    line.update(200_001);
    t.mock.timers.tick(100);
    line.update(210_000);
    assert.deepEqual(written, ['\r\x1b[2Kcapi-split: 200,000 rows read, 100,000 rows/s']);
    t.mock.timers.tick(200);
    line.update(230_000);
    assert.equal(written.length, 2);
    line.done();
    assert.equal(written.at(-1), '\r\x1b[2K');
  } finally {
    process.env.TERM = saved;
  }
});
