import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive, runPaths, writeFileAtomic } from '@capi/core';
import { type StandInSupervisor, standInSupervisor } from '@capi/testkit';
import { holdingManifest } from './manifest.js';
import { stopLaunchedRun } from './stop-launched-run.js';
import { createdRun } from './test-support/created-run.js';

const root = await mkdtemp(join(tmpdir(), 'capi-stop-late-'));
const children: ChildProcess[] = [];
const supervisors: StandInSupervisor[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const s of supervisors) await s.stop();
  await rm(root, { recursive: true, force: true });
});

test('--stop of a never-started run that a late supervisor takes meanwhile stops that supervisor, not just run.json', async () => {
  const runDir = await createdRun(join(root, 'runs'), 'capi_test_20260101_000000');
  const manifest = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
  let stopped: ReturnType<typeof stopLaunchedRun> | undefined;
  let supervisor: StandInSupervisor | undefined;
  // the late supervisor of a killed capi-launch takes the run under run.json.lock
  // (supervise.ts takeRun) just as --stop, having found no supervisor, writes `stopped`
  await holdingManifest(runDir, async () => {
    stopped = stopLaunchedRun(runDir, { graceMs: 3_000 });
    await sleep(400);
    supervisor = await standInSupervisor(runDir);
    supervisors.push(supervisor);
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

test('--stop kills after the grace only what is still the run: a worker that ended during the grace gets no SIGKILL (its pid may be reused)', async () => {
  const runDir = await createdRun(join(root, 'runs'), 'capi_test_20260101_000001');
  const manifest = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
  // a supervisor that does not stop on SIGTERM, so the grace runs out and the SIGKILL comes
  // (it says so once its handler is in place: a SIGTERM before that would end it)
  const supervisor = spawn(
    process.execPath,
    [
      '-e',
      "process.on('SIGTERM', () => {}); process.stdout.write('ready'); setInterval(() => {}, 1e6)",
      '--',
      '--supervise',
      runDir,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  // a worker of the run that ends by itself during the grace
  const worker = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300)', '--', '--run-id', manifest.id], {
    stdio: 'ignore',
  });
  children.push(supervisor, worker);
  await new Promise((resolve) => supervisor.stdout?.once('data', resolve));
  await new Promise((resolve) => (worker.pid ? resolve(null) : worker.once('spawn', resolve)));
  await writeFile(join(runDir, 'supervisor.pid'), `${supervisor.pid}\n`);
  await writeFileAtomic(
    join(runDir, 'run.json'),
    JSON.stringify({ ...manifest, state: 'running', pid: supervisor.pid }),
  );
  const claims = runPaths(runDir).claims;
  await mkdir(claims, { recursive: true });
  const at = new Date().toISOString();
  await writeFileAtomic(
    join(claims, 'batch_0001.json'),
    JSON.stringify({
      batch: 'batch_0001',
      worker: 1,
      pid: worker.pid,
      state: 'running',
      restarts: 0,
      exitCode: null,
      claimedAt: at,
      updatedAt: at,
    }),
  );
  const sent: Array<[number, string]> = [];
  const kill = process.kill;
  process.kill = ((pid: number, sig?: string | number) => {
    sent.push([pid, String(sig)]);
    return kill.call(process, pid, sig);
  }) as typeof process.kill;
  let result: Awaited<ReturnType<typeof stopLaunchedRun>>;
  try {
    result = await stopLaunchedRun(runDir, { graceMs: 1_500 });
  } finally {
    process.kill = kill;
  }
  assert.equal(pidAlive(worker.pid as number), false, 'the worker ended by itself');
  assert.deepEqual(
    sent.filter(([, sig]) => sig === 'SIGKILL'),
    [[supervisor.pid, 'SIGKILL']],
    'SIGKILL to the supervisor still running, none to the pid of the worker that had ended',
  );
  // said as it was: the supervisor killed, no worker named
  assert.equal(
    result.message,
    `run ${manifest.id} stopped: did not stop within 2 s: killed the supervisor (pid ${supervisor.pid}) with SIGKILL`,
  );
});

test("--stop of a stopped run whose stale supervisor.pid a resume's supervisor replaces meanwhile stops that supervisor, not only the file", async () => {
  const runDir = await createdRun(join(root, 'runs'), 'capi_test_20260101_000002');
  const manifest = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
  // a run stopped earlier, whose killed supervisor left supervisor.pid naming a pid now gone
  const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => dead.once('exit', resolve));
  await writeFileAtomic(join(runDir, 'run.json'), JSON.stringify({ ...manifest, state: 'stopped' }));
  await writeFile(join(runDir, 'supervisor.pid'), `${dead.pid}\n`);
  let stopped: ReturnType<typeof stopLaunchedRun> | undefined;
  let supervisor: ChildProcess | undefined;
  // the --stop looks (no live supervisor, already stopped); then, before it removes the
  // stale pid file, a resume's supervisor takes the run under run.json.lock (supervise.ts takeRun)
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
  const result = await (stopped as ReturnType<typeof stopLaunchedRun>);
  const pid = supervisor?.pid as number;
  // bounded: a SIGTERM it was sent ends it at once
  for (let i = 0; i < 50 && pidAlive(pid); i++) await sleep(50);
  assert.equal(pidAlive(pid), false, 'the resumed run goes on: the --stop was lost');
  assert.equal(result.message, `run ${manifest.id} stopped`);
  assert.equal(JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')).state, 'stopped');
});
