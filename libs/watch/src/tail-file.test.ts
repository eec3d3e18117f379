import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tailFile } from './tail-file.js';

const dir = await mkdtemp(join(tmpdir(), 'capi-watch-tail-'));
after(() => rm(dir, { recursive: true, force: true }));

test('a missing file reads as nothing until it appears', async () => {
  const path = join(dir, 'late.ndjson');
  const tail = tailFile(path);
  assert.deepEqual(await tail.read(), []);
  await writeFile(path, 'a\n');
  assert.deepEqual(await tail.read(), ['a']);
});

test('reads only what was added, and keeps a partial last line for the next read', async () => {
  const path = join(dir, 'grow.ndjson');
  await writeFile(path, '{"id":1}\n{"id":2}\n{"id"');
  const tail = tailFile(path);
  assert.deepEqual(await tail.read(), ['{"id":1}', '{"id":2}']);
  assert.deepEqual(await tail.read(), []);
  await appendFile(path, ':3}\r\n\n{"id":4}\n');
  assert.deepEqual(await tail.read(), ['{"id":3}', '{"id":4}']);
  assert.equal(tail.offset, Buffer.byteLength('{"id":1}\n{"id":2}\n{"id":3}\r\n\n{"id":4}\n'));
});

test('multi-byte characters split across reads stay whole', async () => {
  const path = join(dir, 'utf8.log');
  const text = 'é'.repeat(200_000);
  await writeFile(path, `${text}\nnext\n`);
  const tail = tailFile(path, { maxReadBytes: 1001 });
  const lines: string[] = [];
  let reads = 0;
  do {
    lines.push(...(await tail.read()));
    reads++;
  } while (tail.more && reads < 1000);
  assert.deepEqual(lines, [text, 'next']);
  assert.ok(reads > 100, 'read in slices of maxReadBytes');
});

test('a truncated file is read again from the start', async () => {
  const path = join(dir, 'cut.ndjson');
  await writeFile(path, 'one\ntwo\n');
  const tail = tailFile(path);
  assert.deepEqual(await tail.read(), ['one', 'two']);
  await truncate(path, 0);
  await appendFile(path, 'x\n');
  assert.deepEqual(await tail.read(), ['x']);
});

test('fromEndBytes starts near the end: a log backlog is not read whole', async () => {
  const path = join(dir, 'big.log');
  await writeFile(path, `${'old line\n'.repeat(10_000)}recent\n`);
  const tail = tailFile(path, { fromEndBytes: 20 });
  const lines = await tail.read();
  assert.ok(lines.length <= 3, `read ${lines.length} lines`);
  assert.equal(lines.at(-1), 'recent');
});
