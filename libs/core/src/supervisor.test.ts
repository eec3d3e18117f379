import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunSupervisor, liveSupervisorOf, supervisorBy } from './supervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'capi-supervisor-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function start(...args: string[]): number {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', '--', ...args], { stdio: 'ignore' });
  children.push(c);
  return c.pid as number;
}

test('isRunSupervisor: the exact --supervise pair for this run, started before the pid was recorded', async () => {
  const run = join(dir, 'run');
  const ours = start('--supervise', run);
  const other = start('--supervise', `${run}_2`);
  const marker = start('capi-launch', '--supervise');
  await sleep(300);
  const now = Date.now();
  assert.equal(isRunSupervisor(ours, run, now), true);
  assert.equal(isRunSupervisor(other, run, now), false, 'another run');
  assert.equal(isRunSupervisor(marker, run, now), false, 'capi-launch in argv is not enough');
  assert.equal(isRunSupervisor(ours, run, now - 60_000), false, 'started after the pid was recorded: a reused pid');
  assert.equal(isRunSupervisor(process.pid, run, now), false);
  assert.equal(isRunSupervisor(null, run), false);
  assert.equal(isRunSupervisor(2 ** 30, run), false);
});

test("a pid judged by run.json (no supervisor.pid) counts only with this run's --supervise pair: a --foreground launch of another run does not", async () => {
  const run = join(dir, 'run-no-pid-file');
  mkdirSync(run);
  const foreground = start('/opt/capi/lib/capi-launch.js', 'other-suite.csv', '--foreground');
  const ours = start('--supervise', run);
  await sleep(300);
  // run.json rewritten after the supervisor's start (a --pause, a --continue): its mtime is no guard
  writeFileSync(join(run, 'run.json'), '{}');
  assert.equal(isRunSupervisor(foreground, run), false, "another run's foreground launch");
  assert.equal(isRunSupervisor(ours, run), true);
  // with supervisor.pid (its mtime when the pid was recorded), a foreground launch is this run's
  writeFileSync(join(run, 'supervisor.pid'), `${foreground}\n`);
  assert.equal(isRunSupervisor(foreground, run), true);
});

test("supervisorBy: supervisor.pid's pid judged first, run.json's only without it; liveSupervisorOf reads both files by the same rule", async () => {
  const run = join(dir, 'run-by');
  mkdirSync(run);
  const ours = start('--supervise', run);
  const stranger = start('capi-launch');
  await sleep(300);
  writeFileSync(join(run, 'run.json'), JSON.stringify({ pid: ours }));
  assert.deepEqual(supervisorBy(run, null, null), { pid: null, alive: false });
  assert.deepEqual(supervisorBy(run, null, ours), { pid: ours, alive: true }, "run.json's pid without supervisor.pid");
  assert.equal(liveSupervisorOf(run), ours);
  // a pid file naming another process outweighs run.json's live supervisor (a pid file is written first)
  writeFileSync(join(run, 'supervisor.pid'), `${stranger}\n`);
  assert.deepEqual(supervisorBy(run, stranger, ours), { pid: stranger, alive: false });
  assert.equal(liveSupervisorOf(run), null);
  writeFileSync(join(run, 'supervisor.pid'), `${ours}\n`);
  assert.deepEqual(supervisorBy(run, ours, null), { pid: ours, alive: true });
  assert.equal(liveSupervisorOf(run), ours);
});
