import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '@capi/core';
import { holdingLaunch, lookAtUnmade, noManifestNote, notLeftByLaunch } from './launch-lock.js';
import { resolveRun } from './manifest.js';
import { pruneRuns } from './prune-runs.js';
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
  // what a launch killed during its split leaves: the first thing it makes in the folder
  await mkdir(join(dir, 'batches'), { recursive: true });
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

test('resolveRun on a run whose launch is under way waits, only reading, and is the run once run.json is written', async () => {
  const runs = join(root, 'resolve-made');
  const dir = join(runs, 'capi_test_20260101_000004');
  await mkdir(dir, { recursive: true });
  const launch = await launchHolding(runs);
  const lock = await readFile(join(runs, '.launch.lock'), 'utf8');
  const { run, note } = resolving(runs, 'capi_test_20260101_000004');
  assert.match(
    (await note) ?? 'settled without waiting',
    /capi_test_20260101_000004: no run\.json yet: waiting for the capi-launch/,
  );
  // the launch writes run.json and still holds the lock (its supervisor has yet to take
  // the run): the run is answered now, not when the launch lets go, and the lock is the
  // launch's untouched (a reader needs no write access to the runs folder)
  await writeFileAtomic(join(dir, 'run.json'), manifestOf('capi_test_20260101_000004'));
  const answered = await Promise.race([run, sleep(5_000).then(() => 'still waiting with run.json written')]);
  assert.equal(answered, await realpath(dir));
  assert.equal(await readFile(join(runs, '.launch.lock'), 'utf8'), lock);
  await launch.release();
});

test('resolveRun on a run whose launch ends without run.json says what --status says; one its launch removed, so', async () => {
  const runs = join(root, 'resolve-unmade');
  const left = join(runs, 'capi_test_20260101_000005');
  const removed = join(runs, 'capi_test_20260101_000006');
  await mkdir(join(left, 'batches'), { recursive: true });
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

/** A folder as create-run.ts leaves it when its launch is killed: `made` of its subfolders, then `files`. */
async function leftFolder(runs: string, id: string, made: string[], files: Record<string, string> = {}) {
  const dir = join(runs, id);
  await mkdir(dir, { recursive: true });
  for (const sub of made) await mkdir(join(dir, sub));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

test('--prune removes a folder a killed launch left, and names and keeps one with a run name that no launch made', async () => {
  const runs = join(root, 'lookalikes');
  const all = ['batches', 'logs', 'results', 'status', 'claims'];
  // a launch killed during its split, and one killed at once after its first subfolder
  const split = await leftFolder(runs, 'capi_test_20260101_000010', all, { 'batches/batch_0001.ndjson': '' });
  await writeFile(join(split, 'control.json'), '{}');
  await writeFile(join(split, 'run.json.tmp-123-0a1b2c3d'), '{');
  // a foreground launch's early workers read their flags from it while the suite is split
  await writeFile(join(split, 'exec-options.json'), '[]');
  await leftFolder(runs, 'capi_test_20260101_000011', ['batches']);
  // a launch and its capi-split killed together (kill -9 of the group) during the split
  const splitKilled = await leftFolder(runs, 'capi_test_20260101_000015', [
    ...all,
    '.batches.tmp-4242-m0abc12-0a1b2c3d-Xy12Zq',
  ]);
  await writeFile(join(splitKilled, '.batches.tmp-4242-m0abc12-0a1b2c3d-Xy12Zq', 'batch_0001.ndjson'), '');
  // killed while it held the lock it moves its batches in under
  await writeFile(join(splitKilled, '.batches.lock'), '4242\ntoken\nhost\n');
  // by hand: an empty folder, a run copied without its run.json, a folder of notes
  const empty = await leftFolder(runs, 'capi_test_20260101_000012', []);
  const copied = await leftFolder(runs, 'capi_test_20260101_000013', [...all, 'report']);
  const notes = await leftFolder(runs, 'capi_test_20260101_000014', [], { 'notes.txt': 'mine' });
  assert.equal(await notLeftByLaunch(split), null);
  assert.equal(await notLeftByLaunch(splitKilled), null);
  assert.equal(await notLeftByLaunch(empty), 'no batches/ in it, the first thing capi-launch makes there');
  assert.equal(await notLeftByLaunch(copied), 'it holds "report", which capi-launch does not make before run.json');
  assert.equal(await notLeftByLaunch(notes), 'it holds "notes.txt", which capi-launch does not make before run.json');
  const kept = [
    /^capi_test_20260101_000012: no run\.json, and not a run folder a capi-launch left \(no batches\/ in it, the first thing capi-launch makes there\): capi-launch --prune leaves it alone; remove it yourself if it is not wanted$/,
    /^capi_test_20260101_000013: no run\.json, and not a run folder a capi-launch left \(it holds "report", /,
    /^capi_test_20260101_000014: no run\.json, and not a run folder a capi-launch left \(it holds "notes\.txt", /,
  ];
  const said: string[] = [];
  const dry = await pruneRuns(runs, 10, true, (t) => said.push(t));
  assert.deepEqual(
    dry.map((p) => p.id),
    ['capi_test_20260101_000010', 'capi_test_20260101_000011', 'capi_test_20260101_000015'],
  );
  const namedKept = () => {
    assert.equal(said.length, 3, said.join('\n'));
    for (const [i, t] of said.entries()) assert.match(t, kept[i] as RegExp);
  };
  namedKept();
  said.length = 0;
  const gone = await pruneRuns(runs, 10, false, (t) => said.push(t));
  assert.deepEqual(gone, [
    { id: 'capi_test_20260101_000010', why: 'no run.json' },
    { id: 'capi_test_20260101_000011', why: 'no run.json' },
    { id: 'capi_test_20260101_000015', why: 'no run.json' },
  ]);
  namedKept();
  assert.deepEqual((await readdir(runs)).sort(), [
    'capi_test_20260101_000012',
    'capi_test_20260101_000013',
    'capi_test_20260101_000014',
  ]);
  // resolveRun says the same of it as --status and --prune
  await assert.rejects(resolveRun(runs, 'capi_test_20260101_000014'), {
    message: noManifestNote(notes, false, await notLeftByLaunch(notes)),
  });
});
