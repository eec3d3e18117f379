import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadJournalState } from './resume.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function journal(records: object[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'capi-resume-'));
  dirs.push(dir);
  const path = join(dir, 'batch_0001.ndjson');
  await writeFile(path, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return path;
}

test('resume state: the last result per id; setup results and SETUP_FAILED tests are not done', async () => {
  const state = await loadJournalState(
    await journal([
      { id: 'login', status: 'passed', phase: 'setup', response: { status: 200 } },
      { id: 'T1', status: 'failed', fp: 'a' },
      { id: 'T2', status: 'error', error: { code: 'SETUP_FAILED', message: 'x' } },
      { id: 'T1', status: 'passed', fp: 'b' },
      { id: 'T3', status: 'error', fp: 'c', error: { code: 'TIMEOUT', message: 'y' } },
      { id: 'T4', status: 'passed', fp: 'd', flow: 'f1', flowRun: 2 },
      { id: 'logout', status: 'passed', phase: 'teardown' },
    ]),
  );
  assert.deepEqual(
    [...state.done],
    [
      ['T1', 'b'],
      ['T3', 'c'],
      ['T4', 'd'],
    ],
  );
  assert.deepEqual([...state.notPassed], ['T3']);
  assert.deepEqual([...state.flowRuns], [['f1', 2]]);
  assert.equal(state.answered, true, "the setup row's answer shows the target was up");
});

test('resume state: a line that is not a result is bad at its line; no answer means not answered', async () => {
  const path = await journal([{ id: 'T1', status: 'error', fp: 'a' }, { nope: 1 }]);
  const state = await loadJournalState(path);
  assert.deepEqual([...state.done], [['T1', 'a']]);
  assert.equal(state.answered, false);
  assert.deepEqual(
    state.bad.map((e) => [e.line, e.message]),
    [[2, `${path}:2: field "id": a journal line must be a result record`]],
  );
});
