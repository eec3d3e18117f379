import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyJournalLine, batchState, createRunState } from './run-state.js';

const line = (record: object) => JSON.stringify(record);

test('setup and teardown results are not counted as tests; a flow row is', () => {
  const state = createRunState({ kind: 'run', id: 'capi_x', dir: '/runs/capi_x' });
  applyJournalLine(state, 'batch_0001', line({ id: 'login', name: 'login', status: 'passed', phase: 'setup' }));
  applyJournalLine(state, 'batch_0001', line({ id: 'login', name: 'login', status: 'passed', phase: 'setup' }));
  applyJournalLine(state, 'batch_0001', line({ id: 'F1', name: 'create', status: 'passed', flow: 'f' }));
  applyJournalLine(
    state,
    'batch_0001',
    line({ id: 'F2', name: 'read', status: 'failed', flow: 'f', failures: [], error: null }),
  );
  applyJournalLine(
    state,
    'batch_0001',
    line({ id: 'bye', name: 'bye', status: 'failed', phase: 'teardown', failures: [], error: null }),
  );
  // a test whose name merely mentions a phase is still a test (the quotes inside a string are escaped)
  applyJournalLine(state, 'batch_0001', line({ id: 'T', name: '"phase":"setup"', status: 'passed' }));
  const c = batchState(state, 'batch_0001').counts;
  assert.deepEqual([c.done, c.passed, c.failed], [3, 2, 1]);
  assert.equal(state.failureCount, 1);
  assert.equal(state.badLines, 0);
});
