import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive, writeFileAtomic } from '@capi/core';
import { holdingManifest } from './manifest.js';
import { stopLaunchedRun } from './stop-launched-run.js';
import { createdRun } from './test-support/created-run.js';

const root = await mkdtemp(join(tmpdir(), 'capi-stop-late-'));
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

test('--stop of a never-started run that a late supervisor takes meanwhile stops that supervisor, not just run.json', async () => {
  const runDir = await createdRun(join(root, 'runs'), 'capi_test_20260101_000000');
  const manifest = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
  let stopped: ReturnType<typeof stopLaunchedRun> | undefined;
  let supervisor: ChildProcess | undefined;
  // the late supervisor of a killed capi-launch takes the run under run.json.lock
  // (supervise.ts takeRun) just as --stop, having found no supervisor, writes `stopped`
  await holdingManifest(runDir, async () => {
    stopped = stopLaunchedRun(runDir, { graceMs: 3_000 });
    await sleep(400);
    supervisor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', '--', '--supervise', runDir], {
      stdio: 'ignore',
    });
    children.push(supervisor);
    await new Promise((resolve) => supervisor?.once('spawn', resolve));
    await writeFile(join(runDir, 'supervisor.pid'), `${supervisor.pid}\n`);
    await writeFileAtomic(
      join(runDir, 'run.json'),
      JSON.stringify({ ...manifest, state: 'running', pid: supervisor.pid }),
    );
  });
  await stopped;
  const now = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
  const pid = supervisor?.pid as number;
  // bounded: a SIGTERM it was sent ends it at once
  for (let i = 0; i < 50 && pidAlive(pid); i++) await sleep(50);
  assert.ok(!(now.state === 'stopped' && pidAlive(pid)), 'run.json says stopped while its supervisor runs on');
});
