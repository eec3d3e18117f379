import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '@capi/core';
import { holdingLaunch, lookAtUnmade } from './launch-lock.js';
import { resolveRun } from './manifest.js';
import { runFoldersWithoutManifest } from './runs.js';

const root = await mkdtemp(join(tmpdir(), 'capi-unmade-'));
after(() => rm(root, { recursive: true, force: true }));

const manifestOf = (id: string) =>
  JSON.stringify({ id, method: 'nohup', state: 'created', verdict: null, total: 1, pid: null, suite: { file: '/x' } });

test('a folder seen without run.json whose launch wrote it before the lock was looked at is a run, not a dead launch', async () => {
  const runs = join(root, 'window');
  const dir = join(runs, 'capi_test_20260101_000000');
  let seen: string[] = [];
  await mkdir(runs, { recursive: true });
  // as a capi-launch makes a run (launch.ts): folder, split, run.json, all under the launch
  // lock; a reader's first look (--status, resolveRun) comes between the folder and run.json
  await holdingLaunch(
    runs,
    () => {},
    async () => {
      await mkdir(dir, { recursive: true });
      seen = await runFoldersWithoutManifest(runs);
      await writeFileAtomic(join(dir, 'run.json'), manifestOf('capi_test_20260101_000000'));
    },
  );
  assert.deepEqual(seen, [dir]);
  // the reader's look at the lock comes after the launch let it go
  assert.deepEqual(await lookAtUnmade(runs, seen), { unmade: [], underWay: false, made: [dir] });
});

test('a folder still without run.json once no launch holds the lock is one whose launch died', async () => {
  const runs = join(root, 'dead');
  const dir = join(runs, 'capi_test_20260101_000001');
  await mkdir(dir, { recursive: true });
  const seen = await runFoldersWithoutManifest(runs);
  assert.deepEqual(await lookAtUnmade(runs, seen), { unmade: [dir], underWay: false, made: [] });
  await assert.rejects(resolveRun(runs, 'capi_test_20260101_000001'), /no run\.json: its capi-launch ended before/);
});

test('while a launch holds the lock, a folder without run.json may be the run it prepares', async () => {
  const runs = join(root, 'preparing');
  const dir = join(runs, 'capi_test_20260101_000002');
  await mkdir(dir, { recursive: true });
  await holdingLaunch(
    runs,
    () => {},
    async () => {
      const seen = await runFoldersWithoutManifest(runs);
      assert.deepEqual(await lookAtUnmade(runs, seen), { unmade: [dir], underWay: true, made: [] });
      await assert.rejects(resolveRun(runs, 'capi_test_20260101_000002'), /no run\.json yet: a capi-launch/);
    },
  );
});

test('a folder its failed launch removed meanwhile is neither a run nor a dead launch', async () => {
  const runs = join(root, 'removed');
  const dir = join(runs, 'capi_test_20260101_000003');
  let seen: string[] = [];
  await mkdir(runs, { recursive: true });
  await holdingLaunch(
    runs,
    () => {},
    async () => {
      await mkdir(dir, { recursive: true });
      seen = await runFoldersWithoutManifest(runs);
      await rm(dir, { recursive: true, force: true });
    },
  );
  assert.deepEqual(await lookAtUnmade(runs, seen), { unmade: [], underWay: false, made: [] });
});
