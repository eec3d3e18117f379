import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ExitCode, launchLockOf, withExclusiveFile } from '@capi/core';
import { classify, findWatchTarget, newestRun } from './watch-target.js';

const root = await mkdtemp(join(tmpdir(), 'capi-watch-target-'));
after(() => rm(root, { recursive: true, force: true }));

/** run.json as capi-launch writes it, its fields that every reader needs (core's shape check). */
const manifestOf = (id: string) => JSON.stringify({ id, state: 'running', suite: { file: '/suite.csv' }, options: {} });

async function run(runs: string, id: string): Promise<string> {
  const dir = join(runs, id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'run.json'), manifestOf(id));
  return dir;
}

test('the newest run is the latest link, else the greatest run id holding run.json', async () => {
  const runs = join(root, 'runs1');
  assert.equal(await newestRun(runs), null, 'no runs folder: no run');
  await run(runs, 'capi_test_20260101_100000');
  const newer = await run(runs, 'capi_test_20260102_100000');
  await mkdir(join(runs, 'capi_test_20260103_100000'));
  assert.equal(await newestRun(runs), newer);
  await symlink('capi_test_20260101_100000', join(runs, 'latest'));
  assert.equal(await newestRun(runs), join(runs, 'capi_test_20260101_100000'));
});

test('the newest run is never a run --prune set aside (.pruned-ID-XXXX, being removed)', async () => {
  const runs = join(root, 'pruned-runs');
  // a --prune killed after it renamed the only run aside: `latest` points at the old name
  await run(runs, '.pruned-capi_test_20260101_100000-ab12');
  await symlink('capi_test_20260101_100000', join(runs, 'latest'));
  assert.equal(await newestRun(runs), null);
});

test('RUN is a folder or a run id under the runs folder; an unknown one is a usage error', async () => {
  const runs = join(root, 'runs2');
  const dir = await run(runs, 'capi_test_1');
  const byId = await findWatchTarget({ run: 'capi_test_1', runsDir: runs, cwd: root });
  assert.deepEqual(byId, { kind: 'run', id: 'capi_test_1', dir });
  const byPath = await findWatchTarget({ run: dir, runsDir: join(root, 'elsewhere'), cwd: root });
  assert.equal(byPath?.kind, 'run');
  await assert.rejects(findWatchTarget({ run: 'nope', runsDir: runs, cwd: root }), /run not found: "nope"/);
  assert.equal(await findWatchTarget({ runsDir: join(root, 'empty'), cwd: root }), null);
});

test('a bare capi-exec: --status/--journal, or a folder holding them, under one key', async () => {
  const dir = join(root, 'exec');
  await mkdir(dir);
  await writeFile(join(dir, 'st.json'), '{}');
  await writeFile(join(dir, 'res.ndjson'), '');
  const t = await findWatchTarget({ run: dir, runsDir: root, cwd: root });
  assert.equal(t?.kind, 'exec');
  assert.deepEqual(t && classify(t, join(dir, 'st.json')), { role: 'heartbeat', key: 'exec' });
  assert.deepEqual(t && classify(t, join(dir, 'res.ndjson')), { role: 'journal', key: 'exec' });
  const flags = await findWatchTarget({ status: 'st.json', journal: 'res.ndjson', runsDir: root, cwd: dir });
  assert.deepEqual(flags && classify(flags, join(dir, 'res.ndjson')), { role: 'journal', key: 'exec' });
  await assert.rejects(findWatchTarget({ run: dir, status: 'x', runsDir: root, cwd: root }), /not both/);
  await mkdir(join(root, 'emptyfolder'));
  await assert.rejects(
    findWatchTarget({ run: join(root, 'emptyfolder'), runsDir: root, cwd: root }),
    /not a run folder/,
  );
});

test('classify knows the run folder layout and ignores the rest', () => {
  const t = { kind: 'run' as const, id: 'r', dir: '/runs/r' };
  assert.deepEqual(classify(t, '/runs/r/results/batch_0002.ndjson'), { role: 'journal', key: 'batch_0002' });
  assert.deepEqual(classify(t, '/runs/r/status/batch_0002.json'), { role: 'heartbeat', key: 'batch_0002' });
  assert.deepEqual(classify(t, '/runs/r/logs/capi.log'), { role: 'log', key: 'capi' });
  assert.deepEqual(classify(t, '/runs/r/run.json'), { role: 'manifest', key: '' });
  assert.equal(classify(t, '/runs/r/batches/batch_0002.ndjson'), null);
  assert.equal(classify(t, '/runs/r/status/batch_0002.json.tmp-1-ab'), null);
});

/**
 * Holds the runs folder's launch lock as a capi-launch does while it makes a run, until
 * `release` is called: the test steps through the launch's window one step at a time.
 */
async function holdLaunchLock(runs: string): Promise<{ release: () => Promise<void> }> {
  let release!: () => void;
  const let_go = new Promise<void>((r) => {
    release = r;
  });
  let held!: () => void;
  const taken = new Promise<void>((r) => {
    held = r;
  });
  const section = withExclusiveFile(launchLockOf(runs), { waitMs: 5_000 }, async () => {
    held();
    await let_go;
  });
  await taken;
  return {
    release: async () => {
      release();
      await section;
    },
  };
}

/** findWatchTarget on `dir`, with the first wait note as a promise (null if it settled without waiting). */
function watchTargetOf(runs: string, dir: string) {
  let noted!: (text: string | null) => void;
  const note = new Promise<string | null>((r) => {
    noted = r;
  });
  const target = findWatchTarget({ run: dir, runsDir: runs, cwd: root }, noted);
  target.then(
    () => noted(null),
    () => noted(null),
  );
  return { target, note };
}

test('RUN in the moment between its folder and its subfolders waits for the launch holding the lock, then is the run', async () => {
  const runs = join(root, 'making');
  const dir = join(runs, 'capi_test_20260101_120000');
  await mkdir(runs, { recursive: true });
  const launch = await holdLaunchLock(runs);
  // as create-run.ts: the folder first, nothing in it yet
  await mkdir(dir);
  const { target, note } = watchTargetOf(runs, dir);
  assert.match(
    (await note) ?? 'settled without waiting',
    /capi_test_20260101_120000: no run\.json yet: waiting for the capi-launch/,
  );
  // the launch's next steps: subfolders, run.json, then the lock let go
  await mkdir(join(dir, 'results'));
  await writeFile(join(dir, 'run.json'), manifestOf('capi_test_20260101_120000'));
  await launch.release();
  assert.deepEqual(await target, { kind: 'run', id: 'capi_test_20260101_120000', dir });
});

test('a run folder its failed launch removes while it is waited for is named so', async () => {
  const runs = join(root, 'making-failed');
  const dir = join(runs, 'capi_test_20260101_120001');
  await mkdir(dir, { recursive: true });
  const launch = await holdLaunchLock(runs);
  const { target, note } = watchTargetOf(runs, dir);
  assert.match((await note) ?? 'settled without waiting', /waiting for the capi-launch/);
  await rm(dir, { recursive: true });
  await assert.rejects(target, /removed while its capi-launch was making it: the launch failed/);
  await launch.release();
});

test('a folder named as runs are, with no launch lock held (or its holder dead), is not a run folder at once', async () => {
  const runs = join(root, 'not-making');
  const dir = join(runs, 'capi_test_20260101_120002');
  await mkdir(dir, { recursive: true });
  const free = watchTargetOf(runs, dir);
  await assert.rejects(free.target, /not a run folder \(no run\.json\)/);
  assert.equal(await free.note, null, 'no wait without the lock');
  // a lock left by a launch that died: its holder's pid is gone
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  await writeFile(launchLockOf(runs), `${dead}\ntoken\n`);
  const orphan = watchTargetOf(runs, dir);
  await assert.rejects(orphan.target, /not a run folder \(no run\.json\)/);
  assert.equal(await orphan.note, null, 'no wait for a dead holder');
  // a launch that let its lock go without making the folder a run: the same message after the wait
  await rm(launchLockOf(runs));
  const launch = await holdLaunchLock(runs);
  const left = watchTargetOf(runs, dir);
  assert.match((await left.note) ?? 'settled without waiting', /waiting for the capi-launch/);
  await launch.release();
  await assert.rejects(left.target, /not a run folder \(no run\.json\)/);
});

test('RUN whose launch made its subfolders (results/, status/) but not yet run.json is waited for, as capi-launch waits: a run folder holds run.json', async () => {
  const runs = join(root, 'making-subfolders');
  const dir = join(runs, 'capi_test_20260101_120002');
  await mkdir(runs, { recursive: true });
  const launch = await holdLaunchLock(runs);
  // as create-run.ts: batches/ (the split), then logs/, results/, status/, claims/, and run.json last
  for (const sub of ['batches', 'logs', 'results', 'status', 'claims'])
    await mkdir(join(dir, sub), { recursive: true });
  const { target, note } = watchTargetOf(runs, dir);
  // before: status/ made it a run folder at once, watched without its run.json
  assert.match(
    (await note) ?? 'settled without waiting',
    /capi_test_20260101_120002: no run\.json yet: waiting for the capi-launch/,
  );
  await writeFile(join(dir, 'run.json'), manifestOf('capi_test_20260101_120002'));
  await launch.release();
  assert.deepEqual(await target, { kind: 'run', id: 'capi_test_20260101_120002', dir });
});

test("a folder without run.json holding status/ or results/ (a bare capi-exec's files laid out as a run's) is watched by that layout", async () => {
  const dir = join(root, 'bare-layout');
  await mkdir(join(dir, 'status'), { recursive: true });
  await mkdir(join(dir, 'results'), { recursive: true });
  const target = await findWatchTarget({ run: dir, runsDir: join(root, 'no-runs'), cwd: root });
  assert.deepEqual(target, { kind: 'run', id: 'bare-layout', dir });
});

test('RUN whose launch holds the lock without a sign of life (silent past the limit) is given up on with exit 3, as capi-launch gives up', async () => {
  const runs = join(root, 'making-silent');
  const dir = join(runs, 'capi_test_20260101_120009');
  await mkdir(runs, { recursive: true });
  // held by this live process and never touched: a launch that stopped or hung
  const launch = await holdLaunchLock(runs);
  await mkdir(dir);
  try {
    await assert.rejects(
      findWatchTarget({ run: dir, runsDir: runs, cwd: root, wait: { silentMs: 300 } }),
      (err: Error & { exitCode?: number }) => {
        assert.equal(err.exitCode, ExitCode.cannotRun);
        assert.match(
          err.message,
          /still no run\.json, and the capi-launch holding .*\.launch\.lock has shown no sign of life for 0 s/,
        );
        return true;
      },
    );
  } finally {
    await launch.release();
  }
});
