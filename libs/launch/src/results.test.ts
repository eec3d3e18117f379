import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type BatchIndex, runPaths } from '@capi/core';
import { failedBatches } from './rerun.js';
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
  assert.deepEqual([c.done, c.passed, c.failed, c.errors], [2, 1, 0, 1]);
  assert.equal(c.teardownFailed, 1, 'the teardown row errored: it fails the run, but is no test');
  const failed: string[] = [];
  for await (const id of failedIds(run, ['batch_0001'])) failed.push(id);
  assert.deepEqual(failed, ['c2']);
});

test('--rerun-failed takes a failed row with its whole flow, and gives every new batch the setup and teardown rows', async () => {
  const run = join(root, 'rerun');
  const paths = runPaths(run);
  await mkdir(paths.results, { recursive: true });
  await mkdir(join(run, 'batches'), { recursive: true });
  const rec = (id: string, extra: object = {}) => ({ id, seq: 0, request: { method: 'GET', url: '/' }, ...extra });
  const login = rec('login', { phase: 'setup' });
  const bye = rec('bye', { phase: 'teardown' });
  const batch1 = [login, rec('a1', { flow: 'a' }), rec('a2', { flow: 'a' }), rec('a3', { flow: 'a' }), rec('p1'), bye];
  const batch2 = [login, rec('b1', { flow: 'b' }), rec('b2', { flow: 'b' }), rec('p2'), bye];
  await writeFile(join(run, 'batches', 'batch_0001.ndjson'), lines(batch1));
  await writeFile(join(run, 'batches', 'batch_0002.ndjson'), lines(batch2));
  const entry = (batch: string) => ({
    batch,
    file: `${batch}.ndjson`,
    firstSeq: 0,
    lastSeq: 0,
    count: 0,
    firstId: '',
    lastId: '',
  });
  await writeFile(
    paths.batchIndex,
    JSON.stringify({ total: 7, batchSize: 4, batches: [entry('batch_0001'), entry('batch_0002')] }),
  );
  await writeFile(
    paths.resultFile('batch_0001'),
    lines([
      { id: 'login', status: 'failed', phase: 'setup' },
      { id: 'a1', status: 'passed', flow: 'a' },
      { id: 'a2', status: 'failed', flow: 'a' },
      { id: 'a3', status: 'error', flow: 'a' },
      { id: 'p1', status: 'failed' },
    ]),
  );
  await writeFile(
    paths.resultFile('batch_0002'),
    lines([
      { id: 'b1', status: 'passed', flow: 'b' },
      { id: 'b2', status: 'error', flow: 'b' },
      { id: 'p2', status: 'passed' },
    ]),
  );
  const out = join(root, 'rerun-out');
  await failedBatches(run, 2)(out);
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as BatchIndex;
  const files = await Promise.all(
    index.batches.map(async (b) =>
      (await readFile(join(out, b.file), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    ),
  );
  // flow a whole (a1 passed, but a2 needs what a1 captures), p1, flow b whole; never p2
  assert.deepEqual(files, [
    ['login', 'a1', 'a2', 'a3', 'bye'],
    ['login', 'p1', 'b1', 'b2', 'bye'],
  ]);
  assert.equal(index.total, 6);
  assert.equal(index.setup, 1);
  assert.equal(index.teardown, 1);
});

test('a teardown row counts by its last result in its journal: failed then passed on resume is passed', async () => {
  const run = join(root, 'teardown');
  const paths = runPaths(run);
  await mkdir(paths.results, { recursive: true });
  const t1 = { id: 't1', status: 'passed' };
  await writeFile(
    paths.resultFile('batch_0001'),
    lines([t1, { id: 'bye', status: 'failed', phase: 'teardown' }, { id: 'bye', status: 'passed', phase: 'teardown' }]),
  );
  await writeFile(
    paths.resultFile('batch_0002'),
    lines([
      { id: 't2', status: 'passed' },
      { id: 'bye', status: 'error', phase: 'teardown' },
    ]),
  );
  const c = await countResults(run, ['batch_0001', 'batch_0002']);
  assert.deepEqual([c.done, c.passed, c.teardownFailed], [2, 2, 1]);
});
