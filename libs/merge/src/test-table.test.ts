import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fineRow, row } from './html-report.js';
import { addExpected, addResult, createMergeState } from './merge-state.js';

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
