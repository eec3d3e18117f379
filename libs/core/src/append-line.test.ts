import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { openJournal } from './journal.js';
import { NdjsonWriter } from './ndjson.js';

test('journal appendLine and NdjsonWriter writeLine take JSON text already serialized', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-core-'));
  try {
    const j = await openJournal(join(dir, 'j.ndjson'));
    await j.appendLine('{"id":"a"}');
    await j.append({ id: 'b' });
    await j.close();
    assert.equal(await readFile(join(dir, 'j.ndjson'), 'utf8'), '{"id":"a"}\n{"id":"b"}\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (b) => {
    text += b;
  });
  const w = new NdjsonWriter(stream);
  w.writeLine('{"x":1}');
  w.write({ y: 2 });
  await w.close();
  assert.equal(text, '{"x":1}\n{"y":2}\n');
});
