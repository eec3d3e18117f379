import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type StandInSupervisor, standInSupervisor } from '@capi/testkit';
import { holdingManifest } from './manifest.js';
import { pruneRuns } from './runs.js';
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
