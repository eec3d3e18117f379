import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import { InputError } from './errors.js';
import { type NdjsonLine, NdjsonWriter, type ReadNdjsonOptions, readNdjson, readNdjsonChunks } from './ndjson.js';

async function* chunks(...parts: (string | Buffer)[]): AsyncGenerator<string | Buffer> {
  for (const p of parts) yield p;
}

async function readAll(parts: (string | Buffer)[], opts: Partial<ReadNdjsonOptions> = {}): Promise<NdjsonLine[]> {
  const out: NdjsonLine[] = [];
  for await (const l of readNdjson(chunks(...parts), { source: 'in.ndjson', ...opts })) out.push(l);
  return out;
}

test('reads one value per line with 1-based line numbers', async () => {
  const got = await readAll(['{"a":1}\n{"b":2}\n']);
  assert.deepEqual(got, [
    { value: { a: 1 }, line: 1 },
    { value: { b: 2 }, line: 2 },
  ]);
});

test('accepts CRLF and skips blank lines, keeping line numbers true', async () => {
  const got = await readAll(['{"a":1}\r\n\r\n\n{"b":2}\r\n', '   \n', '{"c":3}']);
  assert.deepEqual(
    got.map((l) => [l.value, l.line]),
    [
      [{ a: 1 }, 1],
      [{ b: 2 }, 4],
      [{ c: 3 }, 6],
    ],
  );
});

test('lines split across chunks, and a multi-byte character split across chunks', async () => {
  const bytes = Buffer.from('{"name":"héllo ✓ 😀"}\n{"n":2}\n');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 3) parts.push(bytes.subarray(i, i + 3));
  const got = await readAll(parts);
  assert.deepEqual(
    got.map((l) => l.value),
    [{ name: 'héllo ✓ 😀' }, { n: 2 }],
  );
});

test('a line holding null (or a scalar) is yielded, not taken as the end', async () => {
  const got = await readAll(['null\n1\n"x"\n{"after":true}\n']);
  assert.deepEqual(
    got.map((l) => l.value),
    [null, 1, 'x', { after: true }],
  );
});

test('a malformed line is an InputError naming source and line; records before it are kept', async () => {
  const seen: unknown[] = [];
  await assert.rejects(
    (async () => {
      for await (const l of readNdjson(chunks('{"a":1}\n{"b":2}\n{oops\n{"c":3}\n'), { source: 'r.ndjson' })) {
        seen.push(l.value);
      }
    })(),
    (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.source, 'r.ndjson');
      assert.equal(err.line, 3);
      assert.match(err.message, /^r\.ndjson:3: malformed JSON/);
      return true;
    },
  );
  assert.deepEqual(seen, [{ a: 1 }, { b: 2 }]);
});

test("readNdjsonChunks hands on each input chunk's lines as one fresh array, none for a chunk of no whole line", async () => {
  const got: NdjsonLine[][] = [];
  for await (const lines of readNdjsonChunks(chunks('{"a":1}\n{"b"', ':2}\n\n{"c":3}\n{"d":4}\n', '\n', '{"e":5}'), {
    source: 'c.ndjson',
  }))
    got.push(lines);
  assert.deepEqual(
    got.map((lines) => lines.map((l) => [l.value, l.line])),
    [
      [[{ a: 1 }, 1]],
      [
        [{ b: 2 }, 2],
        [{ c: 3 }, 4],
        [{ d: 4 }, 5],
      ],
      [[{ e: 5 }, 7]],
    ],
  );
  assert.notEqual(got[0], got[1], 'a new array per chunk: a reader may keep one');
});

test("readNdjsonChunks: a malformed line ends the read after the chunk's lines before it were handed on", async () => {
  const got: unknown[] = [];
  await assert.rejects(
    (async () => {
      for await (const lines of readNdjsonChunks(chunks('{"a":1}\n', '{"b":2}\n{oops\n{"c":3}\n'), {
        source: 'r.ndjson',
      }))
        got.push(lines.map((l) => l.value));
    })(),
    /^InputError: r\.ndjson:3: malformed JSON|r\.ndjson:3: malformed JSON/,
  );
  assert.deepEqual(got, [[{ a: 1 }], [{ b: 2 }]]);
});

test('a torn last line without onTornTail is an error', async () => {
  await assert.rejects(readAll(['{"a":1}\n{"b":']), /in\.ndjson:2: malformed JSON/);
});

test('a torn last line with onTornTail is reported and skipped', async () => {
  const torn: [number, string][] = [];
  const got = await readAll(['{"a":1}\n{"b":'], { onTornTail: (line, text) => torn.push([line, text]) });
  assert.deepEqual(
    got.map((l) => l.value),
    [{ a: 1 }],
  );
  assert.deepEqual(torn, [[2, '{"b":']]);
});

test('a whole last line without a newline is yielded, with or without onTornTail', async () => {
  assert.deepEqual(
    (await readAll(['{"a":1}\n{"b":2}'])).map((l) => l.value),
    [{ a: 1 }, { b: 2 }],
  );
  let called = false;
  const got = await readAll(['{"a":1}\n{"b":2}\r'], { onTornTail: () => (called = true) });
  assert.deepEqual(
    got.map((l) => l.value),
    [{ a: 1 }, { b: 2 }],
  );
  assert.equal(called, false);
});

test('a malformed middle line is an error even with onTornTail', async () => {
  await assert.rejects(readAll(['{"a":1}\nnope\n{"b":2}\n'], { onTornTail: () => {} }), /in\.ndjson:2: malformed/);
});

test('a line longer than maxLineLength is refused, whether or not it is terminated', async () => {
  const long = `{"x":"${'a'.repeat(100)}"}`;
  await assert.rejects(
    readAll([long.slice(0, 50), long.slice(50)], { maxLineLength: 64 }),
    /in\.ndjson:1: line longer/,
  );
  await assert.rejects(readAll([`${long}\n{"y":1}\n`], { maxLineLength: 64 }), /in\.ndjson:1: line longer/);
  assert.equal((await readAll([`${long}\n`], { maxLineLength: 200 })).length, 1);
});

test('empty input yields nothing', async () => {
  assert.deepEqual(await readAll([]), []);
  assert.deepEqual(await readAll(['\n\n']), []);
});

/** A Writable that takes one chunk per `delayMs` and records the most it ever held. */
function slowSink(highWaterMark: number, delayMs: number) {
  const received: string[] = [];
  let maxBuffered = 0;
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      maxBuffered = Math.max(maxBuffered, stream.writableLength);
      received.push(chunk.toString());
      setTimeout(done, delayMs);
    },
  });
  return { stream, received, maxBuffered: () => maxBuffered };
}

test('NdjsonWriter keeps order and honours backpressure of a slow stream', async () => {
  const sink = slowSink(64, 1);
  const writer = new NdjsonWriter(sink.stream, 128);
  let waited = 0;
  for (let i = 0; i < 300; i++) {
    const p = writer.write({ i, pad: 'x'.repeat(20) });
    if (p) {
      waited++;
      await p;
    }
  }
  await writer.close(true);
  const lines = sink.received.join('').split('\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).i),
    Array.from({ length: 300 }, (_, i) => i),
  );
  assert.ok(waited > 0, 'the writer asked the caller to wait');
  // Awaited writes never pile up more than a stream buffer plus one writer batch.
  assert.ok(sink.maxBuffered() <= 64 + 128 + 64, `held ${sink.maxBuffered()} bytes`);
});

test('NdjsonWriter gathers lines written in one tick into one write', async () => {
  const pass = new PassThrough();
  const writes: number[] = [];
  pass.on('data', (c: Buffer) => writes.push(c.length));
  const writer = new NdjsonWriter(pass);
  for (let i = 0; i < 50; i++) void writer.write({ i });
  await new Promise((r) => setImmediate(r));
  await writer.close(true);
  assert.equal(writes.length, 1);
});

test('NdjsonWriter with gatherMs gathers lines over several ticks into one write, and close writes them at once', async () => {
  const pass = new PassThrough();
  const writes: number[] = [];
  pass.on('data', (c: Buffer) => writes.push(c.length));
  const writer = new NdjsonWriter(pass, 64 * 1024, 60_000);
  for (let tick = 0; tick < 5; tick++) {
    for (let i = 0; i < 10; i++) void writer.write({ i });
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(writes.length, 0, 'nothing written before the gathering time');
  const started = performance.now();
  await writer.close(true);
  // close does not wait for the gathering timer (a minute here): the test would time out
  assert.ok(performance.now() - started < 30_000);
  assert.equal(writes.length, 1);
  assert.equal(writes[0], 50 * '{"i":0}\n'.length);
});

test('NdjsonWriter.close(false) flushes without ending the stream', async () => {
  const sink = slowSink(1024, 0);
  const writer = new NdjsonWriter(sink.stream);
  void writer.write({ a: 1 });
  await writer.close();
  await new Promise((r) => setImmediate(r));
  assert.equal(sink.received.join(''), '{"a":1}\n');
  assert.equal(sink.stream.writableEnded, false);
  sink.stream.end();
});
