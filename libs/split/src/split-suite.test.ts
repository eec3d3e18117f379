import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type InputError, parseShard, type TestRecord } from '@capi/core';
import type { SplitOptions } from './options.js';
import { splitSuite } from './split-suite.js';

async function split(text: string | Buffer, options: Partial<SplitOptions> = {}): Promise<TestRecord[]> {
  const out: TestRecord[] = [];
  for await (const record of splitSuite([Buffer.from(text)], { source: 's.csv', ...options })) out.push(record);
  return out;
}

const ids = (records: TestRecord[]) => records.map((r) => r.id);

function suite(rows: number): string {
  let text = 'id,name,url,tags\n';
  for (let i = 0; i < rows; i++) text += `T${i},name ${i},/items/${i},${i % 3 === 0 ? 'smoke' : 'slow'}\n`;
  return text;
}

test('a CSV row becomes a test record with every default of docs/formats.md', async () => {
  const [record] = await split('id,url,code\nT1,/a,007\n', { varsColumns: ['code'] });
  assert.deepEqual(record, {
    id: 'T1',
    name: 'T1',
    seq: 0,
    request: { method: 'GET', url: '/a', headers: {}, body: null },
    expect: { status: '2xx', body: null, json: null, maxMs: null },
    timeoutMs: null,
    tags: [],
    enabled: true,
    vars: { code: '007' },
    source: { file: 's.csv', line: 2 },
  });
});

test('CRLF, quoted newlines and blank lines keep line numbers right', async () => {
  const records = await split('id,url,var.note\r\nA,/a,"x\r\ny\r\nz"\r\n\r\n,,\r\nB,/b,\r\n');
  assert.deepEqual(
    records.map((r) => [r.id, r.source?.line, r.vars['var.note']]),
    [
      ['A', 2, 'x\r\ny\r\nz'],
      ['B', 7, ''],
    ],
  );
});

test('a broken row is an error naming file, line and field; a duplicate id names both lines', async () => {
  await assert.rejects(split('id,url\nT1,/a\nT2,/b,extra\n'), {
    message: 's.csv:3: row has 3 cells, the header has 2',
  });
  await assert.rejects(split('id,url\nT1,/a\n\nT2,/b\nT1,/c\n'), {
    message: 's.csv:5: duplicate id "T1" (first at line 2)',
  });
  await assert.rejects(split('id,url\nT1,/a\nT2,"/b\n'), /^InputError: s\.csv:3: unterminated quote/);
  await assert.rejects(split(''), { message: 's.csv:1: empty file: expected a header row' });
  await assert.rejects(split('\n \n'), { message: 's.csv:1: empty file: expected a header row' });
});

test('lenient skips bad rows through onSkip and keeps the rest', async () => {
  const skipped: string[] = [];
  const onSkip = (e: InputError) => skipped.push(e.message);
  const records = await split('id,url,method\nT1,/a,\nT2,/b,GRT\nT1,/c,\nT3,,\nT4,/d,put\n', { lenient: true, onSkip });
  assert.deepEqual(ids(records), ['T1', 'T4']);
  assert.deepEqual(
    records.map((r) => r.seq),
    [0, 1],
  );
  assert.equal(skipped.length, 3);
  assert.match(skipped[1] as string, /^s\.csv:4: duplicate id "T1"/);
});

test('filters apply in order: range, tags, grep, shard; seq numbers what remains', async () => {
  const text = suite(30);
  assert.deepEqual(ids(await split(text, { start: 2, end: 5 })), ['T2', 'T3', 'T4']);
  assert.deepEqual(ids(await split(text, { start: 0, end: 10, tags: ['smoke'] })), ['T0', 'T3', 'T6', 'T9']);
  assert.deepEqual(ids(await split(text, { tags: ['smoke'], grep: /^name 1/ })), ['T12', 'T15', 'T18']);
  const shards = await Promise.all([1, 2, 3].map((k) => split(text, { shard: parseShard(`${k}/3`) })));
  const all = shards.flatMap(ids);
  assert.equal(all.length, 30, 'every test is in exactly one shard');
  assert.equal(new Set(all).size, 30);
  for (const shard of shards)
    assert.deepEqual(
      shard.map((r) => r.seq),
      [...shard.keys()],
    );
  const again = await split(text, { shard: parseShard('2/3') });
  assert.deepEqual(ids(again), ids(shards[1] as TestRecord[]), 'shards are deterministic');
});

test('a range never hides a broken row outside it', async () => {
  await assert.rejects(split('id,url\nT1,/a\nT2,\n', { end: 1 }), /s\.csv:3: field "url": missing/);
});

test('NDJSON test records are detected, validated, normalized and renumbered', async () => {
  const text =
    '{"id":"N1","request":{"method":"GET","url":"/1"},"seq":9}\n\n{"id":"N2","request":{"method":"POST","url":"/2"}}\n';
  const records = await split(text, { source: 't.ndjson' });
  assert.deepEqual(ids(records), ['N1', 'N2']);
  assert.deepEqual(
    records.map((r) => [r.seq, r.source?.line, r.expect.status]),
    [
      [0, 1, '2xx'],
      [1, 3, '2xx'],
    ],
  );
  await assert.rejects(
    split('{"id":"N1","request":{"url":"/1"}}\n', { source: 't.ndjson' }),
    /t\.ndjson:1: field "request\.method"/,
  );
  await assert.rejects(split('{"id":"N1",\n', { source: 't.ndjson' }), /t\.ndjson:1: malformed JSON/);
  assert.deepEqual(await split('', { format: 'ndjson' }), []);
});

/** One bad value, as a CSV column cell and as the NDJSON record field it becomes. */
const sameRules: Array<{ column: string; cell: string; field: string; record: object; message: RegExp }> = [
  {
    column: 'method',
    cell: 'FETCH',
    field: 'request.method',
    record: { request: { method: 'FETCH' } },
    message: /unknown method "FETCH" \(expected one of GET, HEAD/,
  },
  {
    column: 'expect_status',
    cell: '2xy',
    field: 'expect.status',
    record: { expect: { status: '2xy' } },
    message: /expected a code like 200, a class like 2xx, or a list \(got "2xy"\)/,
  },
  {
    column: 'expect_body',
    cell: '/[/',
    field: 'expect.body',
    record: { expect: { body: '/[/' } },
    message: /bad regular expression: Invalid regular expression/,
  },
  {
    column: 'expect_json',
    cell: '{bad',
    field: 'expect.json',
    record: { expect: { json: '{bad' } },
    message: /malformed JSON: /,
  },
  {
    column: 'max_ms',
    cell: '1.5',
    field: 'expect.maxMs',
    record: { expect: { maxMs: 1.5 } },
    message: /must be a whole number of milliseconds \(got "?1\.5"?\)/,
  },
  {
    column: 'timeout_ms',
    cell: '-1',
    field: 'timeoutMs',
    record: { timeoutMs: -1 },
    message: /must be a whole number of milliseconds \(got "?-1"?\)/,
  },
];

test('NDJSON records are checked by the same rules as CSV cells, naming file:line and the field', async () => {
  for (const { column, cell, field, record, message } of sameRules) {
    const csv = `id,url,${column}\nT0,/ok,\nT1,/a,"${cell.replace(/"/g, '""')}"\n`;
    await assert.rejects(split(csv), (err: Error) => {
      assert.match(err.message, new RegExp(`^s\\.csv:3: field "${column}": `));
      assert.match(err.message, message);
      return true;
    });
    const base = { id: 'T1', request: { method: 'GET', url: '/a' } };
    const bad = { ...base, ...record, request: { ...base.request, ...(record as { request?: object }).request } };
    const ndjson = `${JSON.stringify({ id: 'T0', request: { method: 'GET', url: '/ok' } })}\n${JSON.stringify(bad)}\n`;
    await assert.rejects(split(ndjson, { source: 't.ndjson' }), (err: Error) => {
      assert.match(err.message, new RegExp(`^t\\.ndjson:2: field "${field.replace('.', '\\.')}": `));
      assert.match(err.message, message);
      return true;
    });
  }
});

test('NDJSON values are normalized as CSV cells are: method upper-cased, status lower-cased, tags trimmed', async () => {
  const [fromCsv] = await split(
    'id,url,method,expect_status,tags,expect_body\nT1,/a, get ,"2XX, 404", b ;a;;b,/users/me\n',
  );
  const record = {
    id: 'T1',
    request: { method: ' get ', url: '/a' },
    expect: { status: '2XX, 404', body: '/users/me', json: '' },
    tags: [' b ', 'a', '', 'b'],
  };
  const [fromNdjson] = await split(`${JSON.stringify(record)}\n`, { source: 's.csv' });
  assert.deepEqual(fromNdjson?.request, { method: 'GET', url: '/a', headers: {}, body: null });
  assert.deepEqual(fromNdjson?.expect, { status: '2xx,404', body: '/users/me', json: null, maxMs: null });
  assert.deepEqual(fromNdjson?.tags, ['b', 'a']);
  assert.deepEqual(
    { ...fromNdjson, source: null },
    { ...fromCsv, source: null },
    'the same test, from either input, is the same record',
  );
});

test('a slow consumer gets every record (no stall between parser and reader)', async () => {
  const text = suite(20_000);
  const chunks = [];
  for (let i = 0; i < text.length; i += 4096) chunks.push(Buffer.from(text.slice(i, i + 4096)));
  let count = 0;
  for await (const _ of splitSuite(chunks, { source: 's.csv' })) if (++count % 2000 === 0) await sleep(1);
  assert.equal(count, 20_000);
});
