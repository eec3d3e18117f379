import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateTestRecord } from '@capi/core';
import { METHODS, scanTestLine } from './fast-test-line.js';
import { addExpected, createMergeState, type MergeState } from './merge-state.js';
import { readBatchBytes } from './suite.js';
import type { TableOptions } from './test-table.js';

/**
 * Every batch line fast-test-line.ts takes must give what JSON.parse, validateTestRecord
 * and addExpected give: the same rows, columns, pools and pending text, the same errors.
 * The bytes go once through readBatchBytes with the scanner and once without, and
 * everything the reports read is compared.
 */

// capi-split's serialize.ts shape, field for field.
const BASE = {
  id: 'T1',
  name: 'get item 1',
  seq: 0,
  request: { method: 'GET', url: '/items/1', headers: {}, body: null },
  expect: { status: '2xx', body: null, json: null, maxMs: null },
  timeoutMs: null,
  tags: ['smoke', 'full'],
  enabled: true,
  vars: {},
  source: { file: '/suites/suite.csv', line: 2 },
};

type Rec = Record<string, unknown>;
const line = (over: Rec = {}, deep: (r: Rec) => void = () => {}): string => {
  const r: Rec = structuredClone({ ...BASE, ...over });
  deep(r);
  return JSON.stringify(r);
};
const req = (over: Rec) => (r: Rec) => Object.assign(r.request as Rec, over);
const exp = (over: Rec) => (r: Rec) => Object.assign(r.expect as Rec, over);

function snapshot(s: MergeState) {
  const t = s.tests;
  const raw: unknown[] = [];
  // the spool's text before anything renders a pending row
  for (let i = 0; i < t.size; i++) raw.push(t.text[i] === 0 ? null : t.spool.read(t.text[i] as number));
  const rows: unknown[] = [];
  for (let i = 0; i < t.size; i++)
    rows.push({
      id: t.idOf(i),
      pending: t.pending[i],
      flags: t.flags[i],
      status: t.status[i],
      batch: t.batchPool.values[t.batch[i] as number],
      tags: t.tagPool.values[t.tags[i] as number],
      flow: t.flowPool.values[t.flow[i] as number],
      record: t.recordText(i),
      csv: t.csv ? t.csvText(i) : null,
      view: t.view(i),
    });
  return {
    raw,
    rows,
    expected: s.expected,
    batches: t.batchPool.values,
    tagLists: t.tagPool.values,
  };
}

type Outcome = ReturnType<typeof snapshot> | { error: string };

async function readBoth(bytes: Buffer, opts: TableOptions, step: number, suite: boolean): Promise<[Outcome, Outcome]> {
  const run = async (fast: boolean): Promise<Outcome> => {
    const state = createMergeState(opts);
    // a suite read first names some ids (addExpected's other branches)
    if (suite) {
      addExpected(state, { id: 'T1', name: 'suite name', tags: ['suite'], batch: null });
      addExpected(state, { id: 'S2', batch: 'b9' });
    }
    let at = 0;
    try {
      await readBatchBytes(
        (buf, off, len) => {
          const n = Math.min(len, step, bytes.length - at);
          bytes.copy(buf, off, at, at + n);
          at += n;
          return n;
        },
        'run/batches/batch_0001.ndjson',
        'batch_0001',
        state,
        fast,
      );
      return snapshot(state);
    } catch (err) {
      return { error: (err as Error).message };
    } finally {
      state.tests.close();
    }
  };
  return [await run(true), await run(false)];
}

/** Both ways, with the CSV, the summary only's short rows and the spool in a file past 2 KB, with a suite and without; full: also in 7-byte reads. */
async function same(text: string, what: string, full = false): Promise<void> {
  const bytes = Buffer.from(text);
  for (const opts of [{ csv: true }, { short: true }, { csv: true, spoolInMemory: 2048 }])
    for (const suite of [false, true])
      for (const step of full ? [1 << 20, 7] : [1 << 20]) {
        const [fast, plain] = await readBoth(bytes, opts, step, suite);
        assert.deepEqual(fast, plain, `${what} (${JSON.stringify(opts)}, suite ${suite}, ${step} bytes a read)`);
      }
}

const ODD: Array<[string, string]> = [
  ['common', line()],
  ['source null', line({ source: null })],
  ['source line null', line({ source: { file: 'a.csv', line: null } })],
  ['source file non-ASCII and DEL', line({ source: { file: '/sü\u007fites/ä.csv', line: 3 } })],
  ['source file with an escape', line({ source: { file: 'a"b.csv', line: 3 } })],
  ['source with an extra key', line({ source: { file: 'a.csv', line: 3, x: 1 } })],
  ['source line negative', `${line().slice(0, line().lastIndexOf('"line":'))}"line":-2}}`],
  ['source line with a fraction', `${line().slice(0, line().lastIndexOf('"line":'))}"line":2.5}}`],
  ['id with an escape', line({ id: 'T"1' })],
  ['id of spaces', line({ id: '   ' })],
  ['id with spaces around', line({ id: ' T 1 ' })],
  ['empty id', line({ id: '' })],
  ['non-ASCII id', line({ id: 'Të1' })],
  ['empty name', line({ name: '' })],
  ['name equal to id', line({ name: 'T1' })],
  ['name of spaces', line({ name: '  ' })],
  ['name a prefix of the id', line({ id: 'T12', name: 'T1' })],
  ['non-ASCII name', line({ name: 'tëst ✓ 𝄞' })],
  ['name with a backslash', line({ name: 'a\\b' })],
  ['name with \\u escape text', line().replace('"get item 1"', '"\\u0041B"')],
  ['a raw control character in the name', line().replace('get item', 'get\u0001item')],
  ['DEL in the name', line({ name: 'a\u007fb' })],
  ['no name', line({}, (r) => delete r.name)],
  ['name null', line({ name: null })],
  ['seq large', line({ seq: 123456789012345 })],
  ['seq beyond safe', `${line().replace('"seq":0', '"seq":12345678901234567')}`],
  ['seq negative', line({ seq: -1 })],
  ['seq 1.5', line({ seq: 1.5 })],
  ['seq leading zero', line().replace('"seq":0', '"seq":01')],
  ['seq 1e3', line().replace('"seq":0', '"seq":1e3')],
  ['no seq', line({}, (r) => delete r.seq)],
  ...METHODS.map((m): [string, string] => [`method ${m}`, line({}, req({ method: m }))]),
  ['method lower case', line({}, req({ method: 'get' }))],
  ['method with spaces', line({}, req({ method: ' GET ' }))],
  ['method unknown', line({}, req({ method: 'FETCH' }))],
  ['method GETX', line({}, req({ method: 'GETX' }))],
  ['url empty', line({}, req({ url: '' }))],
  ['url of spaces', line({}, req({ url: '  ' }))],
  ['url with a query', line({}, req({ url: '/a?b=1&c={{id}}' }))],
  ['url non-ASCII', line({}, req({ url: '/ä' }))],
  ['headers', line({}, req({ headers: { a: 'b' } }))],
  ['header not a string', line({}, req({ headers: { a: 1 } }))],
  ['body', line({}, req({ body: '{"a":1}' }))],
  ['body a number', line({}, req({ body: 1 }))],
  ['no body', line({}, (r) => delete (r.request as Rec).body)],
  ...['200', '2xx', '599', '5xx', '100', '1xx'].map((c): [string, string] => [
    `status ${c}`,
    line({}, exp({ status: c })),
  ]),
  ...['600', '0xx', '2XX', '2Xx', '20', '2000', '', ' 2xx', '200,201', '2x1', 'abc'].map((c): [string, string] => [
    `status ${JSON.stringify(c)}`,
    line({}, exp({ status: c })),
  ]),
  ['status a number', line({}, exp({ status: 200 }))],
  ['expect body regex', line({}, exp({ body: '/a(/' }))],
  ['expect json', line({}, exp({ json: '{"a":' }))],
  ['maxMs', line({}, exp({ maxMs: 250 }))],
  ['maxMs negative', line({}, exp({ maxMs: -1 }))],
  ['maxMs 1.5', line({}, exp({ maxMs: 1.5 }))],
  ['maxMs 16 digits', line({}, exp({ maxMs: 1234567890123456 }))],
  ['maxMs beyond safe', line().replace('"maxMs":null', '"maxMs":9007199254740993')],
  ['expect null', line({ expect: null })],
  ['no expect', line({}, (r) => delete r.expect)],
  ['timeoutMs', line({ timeoutMs: 5000 })],
  ['timeoutMs 0', line({ timeoutMs: 0 })],
  ['timeoutMs "5"', line({ timeoutMs: '5' })],
  ['tags none', line({ tags: [] })],
  ['tags one', line({ tags: ['a'] })],
  ['tags with spaces and repeats', line({ tags: [' a', 'a', ''] })],
  ['tags non-ASCII', line({ tags: ['ä'] })],
  ['tags with an escape', line({ tags: ['a"b'] })],
  ['tags not strings', line({ tags: [1] })],
  ['tags null', line({ tags: null })],
  ['tags a string', line({ tags: 'a' })],
  ['disabled', line({ enabled: false })],
  ['enabled "false"', line({ enabled: 'false' })],
  ['enabled null', line({ enabled: null })],
  ['vars', line({ vars: { a: 'b' } })],
  ['vars bad', line({ vars: { a: 1 } })],
  ['flow', line({ flow: 'f1' })],
  ['phase setup', line({ phase: 'setup' })],
  ['phase bad', line({ phase: 'middle' })],
  ['capture', line({ capture: [{ name: 'x', source: 'body.id' }] })],
  ['an extra key', line({ extra: 1 })],
  ['a repeated key', line().replace('"seq":0', '"seq":0,"seq":1')],
  ['keys in another order', `{"name":"get item 1","id":"T1",${line().slice(line().indexOf('"seq"'))}`],
  ['a space after a colon', line().replace('"seq":0', '"seq": 0')],
  ['trailing spaces', `${line()}   `],
  ['a CR before the newline', `${line()}\r`],
  ['cut short', line().slice(0, -1)],
  ['two records on a line', `${line()}${line({ id: 'T2' })}`],
  ['a result record', '{"id":"R","status":"passed"}'],
  ['not an object', '[1]'],
  ['malformed', '{"id":'],
];

test('every odd batch line gives, fast, what JSON.parse, validateTestRecord and addExpected give', async () => {
  for (const [what, text] of ODD) await same(`${line({ id: 'C0' })}\n${text}\n${line({ id: 'C9' })}\n`, what);
  // all of them in one file, each id once, odd lines next to common ones and repeated ids
  const all = ODD.map(([, text], k) => text.replace('"id":"T1"', `"id":"T1_${k}"`));
  await same(`${all.join('\n')}\n${line({ id: 'C0' })}\n${line({ id: 'C0', name: 'again' })}\n`, 'all at once', true);
});

test('the methods the scanner takes are the ones validateTestRecord takes, as written', () => {
  for (const m of METHODS) assert.equal(validateTestRecord({ ...BASE, request: { ...BASE.request, method: m } }), null);
  const b = Buffer.from(`${line({}, req({ method: 'FETCH' }))}\n`);
  assert.equal(scanTestLine(b, 0, b.length), -1);
});

test('the shape capi-split writes is scanned (the fast path is taken at all)', () => {
  for (const text of [
    line(),
    line({ source: null }),
    line({ enabled: false, tags: [] }),
    line({}, exp({ maxMs: 5 })),
  ]) {
    const b = Buffer.from(`${text}\n`);
    assert.equal(scanTestLine(b, 0, b.length), b.length - 1, text);
  }
});
