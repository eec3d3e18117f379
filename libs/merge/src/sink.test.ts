import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { openSink } from './sink.js';

/** A stdout that takes each write a tick later (so the writer waits for 'drain'), keeping what it got. */
function slowStdout() {
  const got: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, done) {
      got.push(Buffer.from(chunk));
      setImmediate(done);
    },
  });
  return { stream, text: () => Buffer.concat(got).toString() };
}

test('rows written in place (reserve, advance) come out in order with text and bytes around them, long rows too', async () => {
  const out = slowStdout();
  const sink = await openSink('-', out.stream);
  let expected = '';
  let waits = 0;
  await sink.write('head\n');
  expected += 'head\n';
  for (let k = 0; k < 3000; k++) {
    // mostly short rows, some longer than the writer's 64 KB buffer
    const row = Buffer.from(`${k}:${'x'.repeat(k % 1000 === 999 ? 70_000 + k : k % 97)}\n`);
    const at = sink.reserve(row.length + 8);
    const end = at + row.copy(sink.buffer(), at);
    const wait = sink.advance(end);
    if (wait) {
      waits++;
      await wait;
    }
    expected += row.toString();
    if (k % 500 === 0) {
      const w = sink.writeBytes(Buffer.from(`bytes ${k}\n`));
      if (w) await w;
      expected += `bytes ${k}\n`;
    }
  }
  await sink.write('tail\n');
  expected += 'tail\n';
  await sink.finish();
  // stdout's sink hands everything on; the stream writes it when it can
  await new Promise<void>((done) => out.stream.end(done));
  assert.ok(waits > 0, 'the writer waited for the slow stream');
  assert.equal(out.text().length, expected.length);
  assert.equal(out.text(), expected);
});
