import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isAlive, readJson, runDirOf, type Sandbox, sandboxes, until } from './test-support/harness.js';

// Every capi-launch action on a run judges its supervisor by core's one pid
// (`runSupervisorPid`: supervisor.pid, else run.json's `pid`), as `--status`'s `dead` and
// capi-watch do, with core's identity check whichever file named it. Before, the actions
// read supervisor.pid alone: a live supervisor whose supervisor.pid was removed (by hand, a
// cleanup) was taken for gone, its run cleared as stopped under it by the next launch of
// its suite, a --resume started a second supervisor on it, --set was refused and --stop
// signalled no supervisor.

const box = sandboxes(true);

/** Supervisors these tests left without supervisor.pid (the sandbox's cleanup finds none), and the sleep: killed by pid. */
const started: number[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  // only while it is still a supervisor: a pid reused since is not ours to kill
  for (const pid of started) if (supervisorArgv(pid)) process.kill(pid, 'SIGKILL');
});

function supervisorArgv(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('--supervise');
  } catch {
    return false;
  }
}

interface RunJson {
  state: string;
  pid: number | null;
}

/**
 * A launched run (stand-in workers, 100 ms a test: some 30 s of work) whose supervisor has
 * taken it, then its supervisor.pid removed while it runs; run.json's `pid` still names it.
 */
async function runWithoutPidFile(b: Sandbox): Promise<{ suite: string; runDir: string; supervisor: number }> {
  const suite = b.suite(300);
  const r = await b.launch([suite, '--parallel', '1', '--batch-size', '10']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  const supervisor = await until('the supervisor running the run', () => {
    const m = readJson<RunJson>(join(runDir, 'run.json'));
    return m.state === 'running' && existsSync(join(runDir, 'results/batch_0001.ndjson')) && m.pid;
  });
  started.push(supervisor);
  assert.ok(isAlive(supervisor));
  rmSync(join(runDir, 'supervisor.pid'));
  return { suite, runDir, supervisor };
}

const stateOf = (runDir: string) => readJson<RunJson>(join(runDir, 'run.json')).state;

test('a live supervisor without supervisor.pid: listed alive, a launch of its suite is refused, --resume too; the run goes on', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '100' });
  const { suite, runDir, supervisor } = await runWithoutPidFile(b);
  const status = await b.launch(['--status', runDir, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const row = JSON.parse(status.stdout) as { state: string; alive: boolean; pid: number };
  assert.deepEqual([row.state, row.alive, row.pid], ['running', true, supervisor]);
  // the listing's stale clearing (a launch's live-run check) leaves it alone, and says it is live
  const again = await b.launch([suite]);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, new RegExp(`is still live \\(pid ${supervisor}\\)`));
  assert.doesNotMatch(again.stderr, /stale pid file cleared/);
  assert.equal(readdirSync(b.runs).filter((n) => n.startsWith('capi_test_')).length, 1, 'no second run');
  const resume = await b.launch(['--resume', runDir]);
  assert.equal(resume.code, 2, resume.stderr);
  assert.match(resume.stderr, new RegExp(`is still running \\(pid ${supervisor}\\): nothing to resume`));
  assert.equal(stateOf(runDir), 'running');
  assert.equal(readJson<RunJson>(join(runDir, 'run.json')).pid, supervisor);
  assert.ok(isAlive(supervisor), 'the supervisor still runs the run');
  assert.equal(existsSync(join(runDir, 'supervisor.pid')), false, 'no second supervisor took the run');
});

test('a live supervisor without supervisor.pid: --set and --pause are taken as by a live run', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '100' });
  const { runDir } = await runWithoutPidFile(b);
  const set = await b.launch(['--set', 'rate=30/s', runDir]);
  assert.equal(set.code, 0, set.stderr);
  assert.equal(readJson<{ rate: string }>(join(runDir, 'control.json')).rate, '30/s');
  const pause = await b.launch(['--pause', runDir]);
  assert.equal(pause.code, 0, pause.stderr);
  assert.doesNotMatch(pause.stderr, /is not running/);
  assert.equal(readJson<{ paused: boolean }>(join(runDir, 'control.json')).paused, true);
});

test('a live supervisor without supervisor.pid: --stop signals it and the run ends stopped', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '100' });
  const { runDir, supervisor } = await runWithoutPidFile(b);
  const stop = await b.launch(['--stop', runDir], { timeoutMs: 40_000 });
  assert.equal(stop.code, 0, stop.stderr);
  assert.doesNotMatch(stop.stdout + stop.stderr, /already gone/);
  assert.equal(isAlive(supervisor), false, 'the supervisor was stopped');
  const m = readJson<RunJson & { stopSignal: string }>(join(runDir, 'run.json'));
  assert.deepEqual([m.state, m.pid, m.stopSignal], ['stopped', null, 'SIGTERM']);
});

test("run.json's pid naming a live process that is no supervisor (a reused pid): dead, never signalled", async () => {
  const b = await box();
  const r = await b.launch([b.suite(5), '--foreground']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = join(b.runs, readdirSync(b.runs).find((n) => n.startsWith('capi_test_')) as string);
  const sleeper = spawn('sleep', ['120'], { stdio: 'ignore' });
  children.push(sleeper);
  const pid = sleeper.pid as number;
  await until('sleep started', () => isAlive(pid), 5_000);
  // a supervisor killed (-9) while it ran, its pid since reused by the sleep; no supervisor.pid
  const m = readJson<Record<string, unknown>>(join(runDir, 'run.json'));
  writeFileSync(
    join(runDir, 'run.json'),
    JSON.stringify({ ...m, state: 'running', pid, verdict: null, finished: null }),
  );
  assert.equal(existsSync(join(runDir, 'supervisor.pid')), false);
  const status = await b.launch(['--status', runDir, '--json']);
  const row = JSON.parse(status.stdout) as { state: string; alive: boolean };
  assert.deepEqual([row.state, row.alive], ['dead', false]);
  const set = await b.launch(['--set', 'rate=30/s', runDir]);
  assert.equal(set.code, 2, set.stderr);
  assert.match(set.stderr, /is not running \(its supervisor is gone\)/);
  const stop = await b.launch(['--stop', runDir]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout + stop.stderr, new RegExp(`its supervisor ${pid} was already gone`));
  assert.equal(stateOf(runDir), 'stopped');
  assert.ok(isAlive(pid), 'the sleep was not signalled');
  assert.equal(sleeper.exitCode ?? sleeper.signalCode, null);
});

test('--wait follows a run whose supervisor.pid is removed while it runs to its end and verdict', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '20' });
  // some 4 s of work: the pid file is removed while --wait follows the run
  const waiting = b.launch([b.suite(200), '--parallel', '1', '--batch-size', '10', '--wait'], { timeoutMs: 60_000 });
  const runDir = await until('the run folder', () =>
    existsSync(b.runs) ? readdirSync(b.runs).find((n) => n.startsWith('capi_test_')) : null,
  );
  const dir = join(b.runs, runDir);
  const supervisor = await until('the supervisor running the run', () => {
    if (!existsSync(join(dir, 'run.json'))) return null;
    const m = readJson<RunJson>(join(dir, 'run.json'));
    return m.state === 'running' && existsSync(join(dir, 'supervisor.pid')) && m.pid;
  });
  started.push(supervisor);
  rmSync(join(dir, 'supervisor.pid'));
  const r = await waiting;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /completed 200\/200 done/);
  assert.equal(stateOf(dir), 'completed');
});
