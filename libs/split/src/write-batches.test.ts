import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BatchIndex, TestRecord } from '@capi/core';
import { splitSuite } from './split-suite.js';
import { writeBatches } from './write-batches.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'capi-split-unit-'));
});
after(() => rm(root, { recursive: true, force: true }));

function records(n: number): AsyncIterable<TestRecord> {
  let text = 'id,url\n';
  for (let i = 1; i <= n; i++) text += `T${i},/items/${i}\n`;
  return splitSuite([Buffer.from(text)], { source: 's.csv' });
}

test('writes batch files of the given size and an index of them', async () => {
  const dir = join(root, 'a', 'batches');
  const index = await writeBatches(records(7), dir, 3);
  assert.deepEqual(await readdir(dir), ['batch_0001.ndjson', 'batch_0002.ndjson', 'batch_0003.ndjson', 'index.json']);
  const onDisk = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as BatchIndex;
  assert.deepEqual(onDisk, index);
  assert.equal(index.total, 7);
  assert.equal(index.batchSize, 3);
  assert.deepEqual(index.batches[2], {
    batch: 'batch_0003',
    file: 'batch_0003.ndjson',
    firstSeq: 6,
    lastSeq: 6,
    count: 1,
    firstId: 'T7',
    lastId: 'T7',
  });
  const lines = (await readFile(join(dir, 'batch_0002.ndjson'), 'utf8')).trim().split('\n');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).id),
    ['T4', 'T5', 'T6'],
  );
  assert.equal((await stat(join(dir, 'batch_0001.ndjson'))).mode & 0o777, 0o600);
});

test('maxSize: batches double every 100 batches from the size up to maxSize; the index says both', async () => {
  const dir = join(root, 'grow', 'batches');
  const index = await writeBatches(records(3000), dir, 10, { maxSize: 25 });
  const counts = index.batches.map((b) => b.count);
  // 100 of 10 (1,000 tests), 100 of 20 (2,000), then what is left
  assert.deepEqual(counts.slice(0, 100), Array(100).fill(10));
  assert.deepEqual(counts.slice(100), Array(100).fill(20));
  assert.equal(index.total, 3000);
  assert.deepEqual([index.batchSize, index.maxBatchSize], [10, 25]);
  const big = await writeBatches(records(5000), join(root, 'grow', 'big'), 10, { maxSize: 25 });
  assert.deepEqual(
    big.batches.slice(200).map((b) => b.count),
    [...Array(80).fill(25)],
    'after 3,000 tests the batches are 25 (40 doubled, held to 25)',
  );
  const fixed = await writeBatches(records(30), join(root, 'grow', 'fixed'), 10, { maxSize: 10 });
  assert.equal(fixed.maxBatchSize, undefined, 'no growth: no maxBatchSize');
});

test('refuses a folder that is not empty; --force replaces only its batches', async () => {
  const dir = join(root, 'b');
  await mkdir(dir);
  await writeFile(join(dir, 'keep.txt'), 'mine');
  await writeFile(join(dir, 'batch_0009.ndjson'), 'old');
  await assert.rejects(writeBatches(records(2), dir, 5), {
    message: `${dir}: folder is not empty (use --force to replace its batches)`,
  });
  await writeBatches(records(2), dir, 5, { force: true });
  assert.deepEqual(await readdir(dir), ['batch_0001.ndjson', 'index.json', 'keep.txt']);
});

test('an error half-way leaves nothing behind', async () => {
  const dir = join(root, 'c');
  const broken = splitSuite([Buffer.from('id,url\nT1,/a\nT2,/b\nT3,\n')], { source: 's.csv' });
  await assert.rejects(writeBatches(broken, dir, 1), /s\.csv:4: field "url": missing/);
  assert.deepEqual(await readdir(root).then((names) => names.filter((n) => n.includes('c'))), []);
});

test('past 9999 batches the names grow wider so that they still sort', async () => {
  const dir = join(root, 'wide');
  const index = await writeBatches(records(10_001), dir, 1);
  assert.equal(index.batches.length, 10_001);
  assert.equal(index.batches[0]?.file, 'batch_00001.ndjson');
  assert.equal(index.batches[10_000]?.batch, 'batch_10001');
  const names = (await readdir(dir)).filter((n) => n.startsWith('batch_'));
  assert.equal(names.length, 10_001);
  assert.deepEqual(
    [...names].sort(),
    index.batches.map((b) => b.file),
  );
});

test('a stop after the last record was read (`signal`, as capi-split`s SIGTERM) still unwinds: no folder, no temp left, its reason thrown', async () => {
  const parent = join(root, 'stopped-late');
  const dir = join(parent, 'batches');
  const stop = new AbortController();
  const reason = new Error('stopped by SIGTERM');
  async function* thenStopped(): AsyncIterable<TestRecord> {
    for await (const r of records(20)) yield r;
    // the input has ended: a signal now cannot cut the reading any more
    stop.abort(reason);
  }
  await assert.rejects(writeBatches(thenStopped(), dir, 1, { signal: stop.signal }), (e) => e === reason);
  assert.deepEqual(await readdir(parent), []);
});
