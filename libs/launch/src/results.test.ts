import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runPaths } from '@capi/core';
import { countResults, failedIds, journalCount } from './results.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'capi-launch-results-'));
});
after(() => rm(root, { recursive: true, force: true }));

const lines = (records: object[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

test('setup and teardown results are not tests; a re-run flow replaces its earlier results', async () => {
  const run = join(root, 'run');
  const paths = runPaths(run);
  await mkdir(paths.results, { recursive: true });
  await writeFile(
    paths.resultFile('batch_0001'),
    lines([
      { id: 'login', status: 'passed', phase: 'setup' },
      { id: 'c1', status: 'failed', flow: 'c' },
      // resumed: setup again, then flow c again from its first row
      { id: 'login', status: 'failed', phase: 'setup' },
      { id: 'login', status: 'passed', phase: 'setup' },
      { id: 'c1', status: 'passed', flow: 'c', flowRun: 2 },
      { id: 'c2', status: 'error', flow: 'c', flowRun: 2 },
      { id: 'bye', status: 'error', phase: 'teardown' },
    ]),
  );
  // a batch with c1, c2 and one more test is not done: login and bye do not count toward it
  assert.equal(await journalCount(run, 'batch_0001'), 2);
  const c = await countResults(run, ['batch_0001']);
  assert.deepEqual([c.results, c.passed, c.failed, c.errors], [2, 1, 0, 1]);
  const failed: string[] = [];
  for await (const id of failedIds(run, ['batch_0001'])) failed.push(id);
  assert.deepEqual(failed, ['c2']);
});
