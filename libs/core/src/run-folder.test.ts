import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { batchCount, batchName, batchSizes, newRunId, RUN_ID_PREFIX, runPaths, runsDir } from './run-folder.js';

test('newRunId is capi_test_YYYYMMDD_HHMMSS in local time', () => {
  assert.equal(newRunId(new Date(2026, 0, 2, 3, 4, 5)), 'capi_test_20260102_030405');
  assert.equal(newRunId(new Date(2026, 11, 31, 23, 59, 59)), 'capi_test_20261231_235959');
  assert.match(newRunId(), /^capi_test_\d{8}_\d{6}$/);
  assert.ok(newRunId().startsWith(RUN_ID_PREFIX));
});

test('batchName pads to 4 digits, wider when the total needs it, so names sort', () => {
  assert.equal(batchName(1), 'batch_0001');
  assert.equal(batchName(42, 100), 'batch_0042');
  assert.equal(batchName(7, 123456), 'batch_000007');
  const names = [9, 10, 100, 1000].map((i) => batchName(i, 1000));
  assert.deepEqual([...names].sort(), names);
});

test('batchSizes: the size, doubled every 100 batches up to the most; batchCount counts them', () => {
  const grow = batchSizes(100, 1000);
  assert.deepEqual([1, 100, 101, 200, 201, 301, 401, 5000].map(grow), [100, 100, 200, 200, 400, 800, 1000, 1000]);
  const fixed = batchSizes(50, null);
  assert.deepEqual([1, 1000].map(fixed), [50, 50]);
  assert.equal(batchSizes(100, 80)(500), 100, 'a most below the size is no growth');
  assert.equal(batchCount(0, 100, 1000), 0);
  assert.equal(batchCount(250, 100, 1000), 3);
  assert.equal(batchCount(1_000_000, 100, 1000), 1250);
  assert.equal(batchCount(1_000_000, 100), 10_000);
});

test('runsDir: CAPI_RUNS_DIR or ./capi-runs, resolved against cwd', () => {
  assert.equal(runsDir({}, '/w'), resolve('/w/capi-runs'));
  assert.equal(runsDir({ CAPI_RUNS_DIR: 'r' }, '/w'), resolve('/w/r'));
  assert.equal(runsDir({ CAPI_RUNS_DIR: '/abs/runs' }, '/w'), resolve('/abs/runs'));
  assert.equal(runsDir({ CAPI_RUNS_DIR: '' }, '/w'), resolve('/w/capi-runs'));
});

test('runPaths lays out the run folder of docs/run-folder.md', () => {
  const p = runPaths('/runs/capi_test_1');
  assert.equal(p.manifest, join('/runs/capi_test_1', 'run.json'));
  assert.equal(p.batchFile('batch_0001'), '/runs/capi_test_1/batches/batch_0001.ndjson');
  assert.equal(p.resultFile('batch_0001'), '/runs/capi_test_1/results/batch_0001.ndjson');
  assert.equal(p.statusFile('batch_0001'), '/runs/capi_test_1/status/batch_0001.json');
  assert.equal(p.logFile('batch_0001'), '/runs/capi_test_1/logs/batch_0001.log');
  assert.equal(p.mainLog, '/runs/capi_test_1/logs/capi.log');
  assert.equal(p.report, '/runs/capi_test_1/report');
  assert.equal(runPaths('rel').dir, resolve('rel'));
});
