import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fineRow, row } from './html-report.js';
import { addExpected, addResult, createMergeState } from './merge-state.js';
import { copyBytes } from './row-text.js';

test("idAndName reads a row's id and name as view does: plain text as bytes, escaped text parsed", () => {
  const state = createMergeState({ spoolInMemory: 256 });
  const names = [
    'get item 1',
    'naïve ✓ café 🚀',
    'a "quoted" name',
    'back\\slash',
    'tab\there',
    'line\u2028separator',
    'lone \ud800 surrogate',
    '',
  ];
  const ids = ['T1', 'T-é', 'T"3', 'T\\4', 'T\u00005', 'T6', 'T7', 'T8'];
  for (const [k, id] of ids.entries()) {
    const v: Record<string, unknown> = { id, status: k % 2 ? 'passed' : 'failed', durationMs: k };
    if (names[k] !== '') v.name = names[k];
    addResult(state, v);
  }
  // the spool went to its temp file (256 bytes in memory): rows are read back from both
  assert.ok(state.tests.spool.onDisk);
  for (let i = 0; i < state.tests.size; i++) {
    const { id, name } = state.tests.view(i);
    assert.deepEqual(state.tests.idAndName(i), { id, name });
  }
  assert.equal(state.tests.idAndName(1).name, 'naïve ✓ café 🚀');
  assert.equal(state.tests.idAndName(6).name, 'lone \ud800 surrogate');
  assert.equal(state.tests.idAndName(7).name, 'T8');
  state.tests.close();
});

test("the HTML's passed and skipped rows from the columns and the text are the rows view gives", () => {
  for (const spoolInMemory of [256, 1 << 20]) {
    const state = createMergeState({ spoolInMemory });
    addExpected(state, { id: 'S1', name: 'suite row, skipped', enabled: false, batch: 'b1', tags: ['x', 'y'] });
    addExpected(state, { id: 'S2', name: 'a "quoted" <name>', enabled: false, batch: null });
    const rows: Array<Record<string, unknown>> = [
      { id: 'P1', status: 'passed', durationMs: 12.25, response: { status: 200, bytes: 10 }, batch: 'b1', tags: ['t'] },
      { id: 'P2', name: 'naïve ✓ "q" \\ \u2028', status: 'passed', durationMs: 0.05, response: { status: 204 } },
      { id: 'P3', status: 'skipped', durationMs: 0, response: null },
      { id: 'T"4', name: 'name has ,"response":{"status":999}', status: 'passed', durationMs: 3, response: null },
      { id: 'P5', status: 'passed', durationMs: 1e-7, response: { status: 599, bytes: 0 }, host: 'h', shard: '1/2' },
      { id: 'P6', status: 'passed', durationMs: 7.5, response: { status: 100, bytes: 1 }, runId: 'r', worker: 3 },
    ];
    for (const r of rows) addResult(state, r);
    const t = state.tests;
    let plain = 0;
    for (let i = 0; i < t.size; i++) {
      assert.deepEqual(fineRow(t, i), row(t.view(i)), t.idOf(i));
      if (t.httpStatusOf(i) !== undefined) plain++;
    }
    assert.ok(plain >= 6, `${plain} rows read plainly`);
    assert.equal(t.httpStatusOf(t.indexOf('T"4') as number), null);
    t.close();
  }
});

test('copyBytes copies every length at every offset as Buffer#copy does, between any buffers', () => {
  const src = Buffer.from(Array.from({ length: 64 }, (_, k) => (k * 37 + 11) & 0xff));
  // a pooled Buffer (byteOffset > 0) and a plain typed array as destinations
  for (const dst of [Buffer.alloc(80), new Uint8Array(80)]) {
    for (let s = 0; s < 12; s++)
      for (let len = 0; len <= 40; len++)
        for (const d of [0, 1, 3, 7]) {
          dst.fill(0xaa);
          const want = Buffer.alloc(80, 0xaa);
          src.copy(want, d, s, s + len);
          assert.equal(copyBytes(src, s, s + len, dst, d), d + len);
          assert.deepEqual(Buffer.from(dst), want, `s=${s} len=${len} d=${d}`);
        }
  }
});

test('copyBytes between three sources and three destinations taken in turn (views kept for two of each)', () => {
  const sources = [0, 1, 2].map((j) => Buffer.from(Array.from({ length: 50 }, (_, k) => (k * 7 + j * 61) & 0xff)));
  const dsts = [Buffer.alloc(60), new Uint8Array(60), Buffer.alloc(60)];
  for (let round = 0; round < 60; round++) {
    // two in turn (each view found again), now and then a third (one view replaced)
    const src = sources[round % 5 === 4 ? 2 : (round >> 1) % 2] as Buffer;
    const dst = dsts[round % 7 === 6 ? 2 : round % 2] as Uint8Array;
    const len = 5 + (round % 23);
    const want = Buffer.from(dst);
    src.copy(want, round % 9, round % 11, (round % 11) + len);
    assert.equal(copyBytes(src, round % 11, (round % 11) + len, dst, round % 9), (round % 9) + len);
    assert.deepEqual(Buffer.from(dst), want, `round ${round}`);
  }
});

test('writeRecordAndCsv writes the bytes writeRecord and writeCsv write, on rows in memory and in the spool file', () => {
  const state = createMergeState({ csv: true, spoolInMemory: 512 });
  const names = ['get item 1', 'naïve ✓ café 🚀', 'a "quoted", name', '=SUM(A1)', 'line\nbreak'];
  for (let k = 0; k < 40; k++) {
    const status = ['passed', 'failed', 'error', 'skipped'][k % 4];
    addResult(state, {
      id: `T${k % 30}`,
      name: names[k % names.length],
      status,
      attempts: 1 + (k % 3),
      startedAt: new Date(Date.UTC(2026, 0, 1) + k * 1000).toISOString(),
      durationMs: k * 1.5,
      response: status === 'error' ? null : { status: 200, bytes: k },
      failures: status === 'failed' ? [{ check: 'status', expected: '2xx', actual: '500, "x"' }] : [],
      error: status === 'error' ? { code: 'ETIMEDOUT', message: 'timed out, again' } : null,
      tags: k % 2 ? ['a', 'b,c'] : [],
    });
  }
  addExpected(state, { id: 'M1', name: 'never ran' });
  const table = state.tests;
  assert.ok(table.spool.onDisk);
  const sink = () => {
    let buf = Buffer.alloc(1 << 16);
    let used = 0;
    return {
      reserve: (n: number) => {
        if (used + n > buf.length) buf = Buffer.concat([buf, Buffer.alloc(n + buf.length)]);
        return used;
      },
      buffer: () => buf,
      advance: (end: number) => {
        used = end;
        return undefined;
      },
      text: () => buf.toString('utf8', 0, used),
    };
  };
  const [json1, csv1, json2, csv2] = [sink(), sink(), sink(), sink()];
  const prefix = Buffer.from(',\n');
  for (let i = 0; i < table.size; i++) {
    table.writeRecord(i, json1, prefix, Buffer.alloc(0));
    table.writeCsv(i, csv1);
    table.writeRecordAndCsv(i, json2, prefix, Buffer.alloc(0), csv2);
  }
  assert.equal(json2.text(), json1.text());
  assert.equal(csv2.text(), csv1.text());
  assert.match(csv1.text(), /"a ""quoted"", name"/);
  assert.equal(json1.text().split(',\n').length, table.size + 1);
});
