import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addResult, createMergeState } from './merge-state.js';

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
