import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestRecord } from '@capi/core';
import { CheckedRead, readTestRecords } from './suite.js';

const line = (id: string, extra = '') => `{"id":"${id}","request":{"method":"GET","url":"/${id}"}${extra}}\n`;

async function* chunks(parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

async function all(parts: string[], checked?: CheckedRead): Promise<TestRecord[]> {
  const out: TestRecord[] = [];
  for await (const chunk of readTestRecords(chunks(parts), 'suite.ndjson', null, { unique: true, checked }))
    out.push(...chunk);
  return out;
}

test('a second read of the same bytes gives the records a plain read gives, and says the bytes were the same', async () => {
  // a line cut across chunks too
  const parts = [line('a') + line('b').slice(0, 9), line('b').slice(9) + line('c'), line('d')];
  const checked = new CheckedRead();
  const first = await all(parts, checked);
  assert.equal(checked.unchanged, false, 'the first read is not the second');
  const second = await all(parts, checked);
  assert.equal(checked.unchanged, true);
  assert.deepEqual(second, await all(parts));
  assert.deepEqual(second, first);
  assert.deepEqual(
    second.map((r) => r.id),
    ['a', 'b', 'c', 'd'],
  );
});

test('bytes changed after the first read: a repeated id in the changed part is refused, naming the first line', async () => {
  const checked = new CheckedRead();
  await all([line('a') + line('b'), line('c')], checked);
  await assert.rejects(all([line('a') + line('b'), line('a')], checked), (err: Error) => {
    assert.match(err.message, /suite\.ndjson:3: field "id": duplicate id "a" \(first at line 1\)/);
    return true;
  });
  assert.equal(checked.unchanged, false);
});

test('bytes changed after the first read: a record that is not valid any more is refused at its line', async () => {
  const checked = new CheckedRead();
  await all([line('a'), line('b')], checked);
  await assert.rejects(all([line('a'), '{"id":"b","request":{"method":"GET"}}\n'], checked), /suite\.ndjson:2:/);
});

test('bytes changed after the first read: ids of lines that changed are not taken for ids met before', async () => {
  const checked = new CheckedRead();
  await all([line('a'), line('b') + line('c')], checked);
  // line 2 is no longer "b": "b" at line 3 is not a repeat
  const recs = await all([line('a'), line('x') + line('b')], checked);
  assert.deepEqual(
    recs.map((r) => r.id),
    ['a', 'x', 'b'],
  );
});

test('a second read cut short is not the first read', async () => {
  const checked = new CheckedRead();
  const head = `${line('a')}{"id":"b","request":{"method":"GET","url":"/b"}}`;
  await all([head, `\n${line('c')}`], checked);
  const recs = await all([head], checked);
  assert.deepEqual(
    recs.map((r) => r.id),
    ['a', 'b'],
  );
  assert.equal(checked.unchanged, false);
});

test('a checked file is read twice, not three times', async () => {
  const checked = new CheckedRead();
  await all([line('a')], checked);
  await all([line('a')], checked);
  await assert.rejects(all([line('a')], checked), /read twice, not more/);
});

test('the records of an input chunk come as one array; a bad record ends the read after those before it', async () => {
  const got: string[][] = [];
  const parts = [line('a') + line('b'), line('c') + line('a') + line('d')];
  await assert.rejects(
    (async () => {
      for await (const chunk of readTestRecords(chunks(parts), 'suite.ndjson', null, { unique: true }))
        got.push(chunk.map((r) => r.id));
    })(),
    /suite\.ndjson:4: field "id": duplicate id "a" \(first at line 1\)/,
  );
  assert.deepEqual(got, [['a', 'b'], ['c']]);
  // A chunk whose records all belong to another shard hands on nothing (no empty array).
  const shard = { index: 1, count: 2 };
  for await (const chunk of readTestRecords(chunks([line('a'), line('b'), line('c')]), 's', shard))
    assert.ok(chunk.length > 0);
});
