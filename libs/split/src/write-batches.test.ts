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
