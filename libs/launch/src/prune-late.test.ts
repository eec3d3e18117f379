import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '@capi/core';
import { type StandInSupervisor, standInSupervisor } from '@capi/testkit';
import { holdingManifest } from './manifest.js';
import { pruneRuns } from './prune-runs.js';
import { createdRun } from './test-support/created-run.js';

const root = await mkdtemp(join(tmpdir(), 'capi-prune-late-'));
const supervisors: StandInSupervisor[] = [];
after(async () => {
  for (const s of supervisors) await s.stop();
  await rm(root, { recursive: true, force: true });
});

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

test('--prune does not remove a never-started run that a late supervisor is taking (holding run.json.lock)', async () => {
  const runs = join(root, 'late');
  const runDir = await createdRun(runs, 'capi_test_20260101_000000');
  let pruned: Promise<{ id: string }[]> | undefined;
  // as a new launch's supervisor whose capi-launch was killed takes the run (supervise.ts
  // takeRun): under run.json.lock it finds `created` and writes supervisor.pid
  await holdingManifest(runDir, async () => {
    pruned = pruneRuns(runs, 10);
    await sleep(400);
    const supervisor = await standInSupervisor(runDir);
    supervisors.push(supervisor);
    await writeFile(join(runDir, 'supervisor.pid'), `${supervisor.pid}\n`).catch(() => {});
  });
  const removed = await (pruned as Promise<{ id: string }[]>);
  assert.ok(await exists(join(runDir, 'run.json')), 'the run its supervisor was taking was removed');
  assert.deepEqual(removed, [], 'named as removed');
});

test('--prune still removes a never-started run no supervisor takes', async () => {
  const runs = join(root, 'alone');
  const runDir = await createdRun(runs, 'capi_test_20260101_000001');
  const removed = await pruneRuns(runs, 10);
  assert.deepEqual(removed, [{ id: 'capi_test_20260101_000001', why: 'never started' }]);
  assert.equal(await exists(runDir), false);
});

/** A run that completed: its supervisor wrote its end and is gone. */
async function completedRun(runs: string, id: string): Promise<string> {
  const runDir = await createdRun(runs, id);
  const manifest = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
  await writeFileAtomic(
    join(runDir, 'run.json'),
    JSON.stringify({ ...manifest, state: 'completed', verdict: 'passed' }),
  );
  return runDir;
}

test("--prune does not remove a finished run that a resume's supervisor takes after the pick", async () => {
  const runs = join(root, 'resumed');
  const runDir = await completedRun(runs, 'capi_test_20260101_000002');
  let pruned: Promise<{ id: string }[]> | undefined;
  const said: string[] = [];
  let pid = 0;
  // --prune picks the run (finished, no supervisor); before it is removed, a resume's
  // supervisor takes it under run.json.lock (supervise.ts takeRun: supervisor.pid, then run.json)
  await holdingManifest(runDir, async () => {
    pruned = pruneRuns(runs, 0, false, (t) => said.push(t));
    await sleep(400);
    const supervisor = await standInSupervisor(runDir);
    supervisors.push(supervisor);
    pid = supervisor.pid;
    await writeFile(join(runDir, 'supervisor.pid'), `${pid}\n`).catch(() => {});
  });
  const removed = await (pruned as Promise<{ id: string }[]>);
  assert.ok(await exists(join(runDir, 'run.json')), 'the run its supervisor took was removed under it');
  assert.deepEqual(removed, [], 'named as removed');
  assert.deepEqual(said, [`capi_test_20260101_000002: kept: supervisor ${pid} has taken it since --prune picked it`]);
  assert.deepEqual(await readdir(runs), ['capi_test_20260101_000002'], 'nothing set aside');
});

test('--prune removes finished runs beyond --keep, and a run folder a killed --prune set aside', async () => {
  const runs = join(root, 'finished');
  const old = await completedRun(runs, 'capi_test_20260101_000003');
  await completedRun(runs, 'capi_test_20260101_000004');
  // left by a --prune killed between setting a run aside and removing it
  await createdRun(runs, '.pruned-capi_test_20260101_000001-0a0b');
  const removed = await pruneRuns(runs, 1);
  assert.deepEqual(removed, [{ id: 'capi_test_20260101_000003', why: 'finished' }]);
  assert.equal(await exists(old), false);
  assert.deepEqual(await readdir(runs), ['capi_test_20260101_000004']);
});
