import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '@capi/core';
import { holdingLaunch, lookAtUnmade, noManifestNote } from './launch-lock.js';
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

/**
 * Holds the runs folder's launch lock as a capi-launch does while it makes a run, until
 * `release`: the test steps through the launch one step at a time.
 */
async function launchHolding(runs: string) {
  let release!: () => void;
  const letGo = new Promise<void>((r) => {
    release = r;
  });
  let held!: () => void;
  const taken = new Promise<void>((r) => {
    held = r;
  });
  const section = holdingLaunch(
    runs,
    () => {},
    async () => {
      held();
      await letGo;
    },
  );
  await taken;
  return {
    release: async () => {
      release();
      await section;
    },
  };
}

/** resolveRun, with its first wait note as a promise (null if it settled without waiting). */
function resolving(runs: string, id: string) {
  let noted!: (text: string | null) => void;
  const note = new Promise<string | null>((r) => {
    noted = r;
  });
  const run = resolveRun(runs, id, noted);
  run.then(
    () => noted(null),
    () => noted(null),
  );
  return { run, note };
}

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
    },
  );
});

test('resolveRun on a run whose launch is under way waits for the launch lock, then is the run', async () => {
  const runs = join(root, 'resolve-made');
  const dir = join(runs, 'capi_test_20260101_000004');
  await mkdir(dir, { recursive: true });
  const launch = await launchHolding(runs);
  const { run, note } = resolving(runs, 'capi_test_20260101_000004');
  assert.match(
    (await note) ?? 'settled without waiting',
    /capi_test_20260101_000004: no run\.json yet: waiting for the capi-launch/,
  );
  // the launch writes run.json, then lets the lock go once its supervisor has the run
  await writeFileAtomic(join(dir, 'run.json'), manifestOf('capi_test_20260101_000004'));
  await launch.release();
  assert.equal(await run, await realpath(dir));
});

test('resolveRun on a run whose launch ends without run.json says what --status says; one its launch removed, so', async () => {
  const runs = join(root, 'resolve-unmade');
  const left = join(runs, 'capi_test_20260101_000005');
  const removed = join(runs, 'capi_test_20260101_000006');
  await mkdir(left, { recursive: true });
  await mkdir(removed, { recursive: true });
  const launch = await launchHolding(runs);
  const a = resolving(runs, 'capi_test_20260101_000005');
  const b = resolving(runs, 'capi_test_20260101_000006');
  assert.match((await a.note) ?? 'settled without waiting', /waiting for the capi-launch/);
  assert.match((await b.note) ?? 'settled without waiting', /waiting for the capi-launch/);
  await rm(removed, { recursive: true });
  await launch.release();
  await assert.rejects(a.run, { message: noManifestNote(left, false) });
  await assert.rejects(
    b.run,
    /no run "capi_test_20260101_000006": its capi-launch removed .* without starting a run \(the launch failed\)/,
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
