import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { batchName, launchLockOf, type ResultRecord, runPaths, writeFileAtomic } from '@capi/core';
import {
  binPath,
  collect,
  killAll,
  runTool,
  type StandInSupervisor,
  standInSupervisor,
  tempDir,
  testEnv,
} from '@capi/testkit';
import {
  appendResults,
  createRun,
  heartbeat,
  patchManifest,
  result,
  statusOf,
  writeHeartbeat,
} from './test-support/fixture.js';
import { exited, waitFor } from './test-support/watch-helpers.js';

const tmp = await tempDir('capi-watch-summary-');
const standIns: ChildProcess[] = [];
const supervisors: StandInSupervisor[] = [];
after(async () => {
  killAll();
  for (const c of standIns) c.kill('SIGKILL');
  for (const s of supervisors) await s.stop();
  await tmp.cleanup();
});

/** A pid that existed and is gone now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await exited(child);
  return child.pid as number;
}

interface Static {
  id: string;
  total?: number;
  done?: number;
  failEvery?: number;
  pid?: number | null;
  state?: 'running' | 'completed' | 'stopped' | 'failed';
  verdict?: 'passed' | 'failed' | null;
  beatAgeS?: number;
  beatState?: 'running' | 'paused' | 'completed' | 'stopped';
}

/**
 * A live stand-in for the run's supervisor: its argv holds `--supervise RUN`, as a real
 * one's does, so core's identity check takes it for the supervisor (a bare live pid is not).
 */
async function supervisorOf(dir: string): Promise<number> {
  const s = await standInSupervisor(dir);
  supervisors.push(s);
  return s.pid;
}

/** A run folder frozen in one state: two batches, `done` results, heartbeats `beatAgeS` old. */
async function staticRun(runs: string, o: Static): Promise<string> {
  const total = o.total ?? 6;
  const done = o.done ?? total;
  const pid = o.pid === undefined ? await supervisorOf(join(runs, o.id)) : o.pid;
  const dir = await createRun(runs, {
    id: o.id,
    total,
    batches: 2,
    pid,
    created: new Date(Date.now() - 300_000),
  });
  const paths = runPaths(dir);
  const size = Math.ceil(total / 2);
  for (let b = 0; b < 2; b++) {
    const batch = batchName(b + 1);
    const records: ResultRecord[] = [];
    for (let seq = b * size; seq < Math.min(done, (b + 1) * size); seq++)
      records.push(result(seq, statusOf(seq, o.failEvery ?? 0, 0), batch, o.id));
    await appendResults(paths.resultFile(batch), records);
    const updatedAt = new Date(Date.now() - (o.beatAgeS ?? 0) * 1000).toISOString();
    await writeHeartbeat(
      paths.statusFile(batch),
      heartbeat(batch, records, { state: o.beatState ?? 'running', total: size, updatedAt, pid: pid ?? process.pid }),
    );
  }
  await patchManifest(dir, {
    state: o.state ?? 'running',
    verdict: o.verdict ?? null,
    finished: o.state && o.state !== 'running' ? new Date().toISOString() : null,
  });
  return dir;
}

const summary = (runs: string, args: string[] = []) =>
  runTool('capi-watch', ['--summary', ...args], { env: { CAPI_RUNS_DIR: runs } });
const lines = (text: string) => text.split('\n');

test('--summary of a completed run that passed: the guide block, exit 0', async () => {
  const runs = join(tmp.path, 'passed');
  await staticRun(runs, { id: 'capi_test_ok', state: 'completed', verdict: 'passed', beatState: 'completed' });
  const r = await summary(runs);
  assert.equal(r.code, 0, r.stderr);
  for (const l of [
    'Run: capi_test_ok',
    'Execution Method: nohup',
    'Test File: /suites/suite.csv',
    'Status: COMPLETED',
    'Tests Completed: 6 / 6',
    `Progress: [${'#'.repeat(36)}] 100.0%`,
    'Passed: 6  Failed: 0  Errors: 0  Skipped: 0',
    'Verdict: PASSED',
    `View logs: tail -f ${join(runs, 'capi_test_ok', 'logs', 'capi.log')}`,
  ])
    assert.ok(lines(r.stdout).includes(l), `missing ${l}\n${r.stdout}`);
  assert.equal(r.stderr, '');
});

test('--summary of a completed run with failures: exit 1; a run id picks the run', async () => {
  const runs = join(tmp.path, 'failed');
  await staticRun(runs, {
    id: 'capi_test_bad',
    state: 'completed',
    verdict: 'failed',
    failEvery: 3,
    beatState: 'completed',
  });
  await staticRun(runs, { id: 'capi_test_newer', state: 'completed', verdict: 'passed', beatState: 'completed' });
  const r = await summary(runs, ['capi_test_bad']);
  assert.equal(r.code, 1);
  assert.ok(lines(r.stdout).includes('Passed: 4  Failed: 2  Errors: 0  Skipped: 0'), r.stdout);
  assert.ok(lines(r.stdout).includes('Verdict: FAILED'));
  assert.match((await summary(runs)).stdout, /^Run: capi_test_newer$/m, 'no RUN: the newest');
});

test('--summary of a running run counts the journals, ignoring a torn last line', async () => {
  const runs = join(tmp.path, 'running');
  const dir = await staticRun(runs, { id: 'capi_test_live', total: 10, done: 4 });
  const { appendFile } = await import('node:fs/promises');
  await appendFile(runPaths(dir).resultFile('batch_0001'), '{"id":"T00099","stat');
  const r = await summary(runs);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.ok(lines(r.stdout).includes('Status: RUNNING'), r.stdout);
  assert.ok(lines(r.stdout).includes('Tests Completed: 4 / 10'), r.stdout);
  assert.ok(
    lines(r.stdout).some((l) => /^Process ID: \d+$/.test(l)),
    r.stdout,
  );
});

test('STALLED: running, pid alive, heartbeats older than --stall-after', async () => {
  const runs = join(tmp.path, 'stalled');
  await staticRun(runs, { id: 'capi_test_stuck', total: 10, done: 4, beatAgeS: 120 });
  const r = await summary(runs, ['--stall-after', '60']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^Status: STALLED \(no heartbeat for 2\.0m\)$/m);
  // A live run refuses --resume: the hint stops it first.
  assert.ok(
    lines(r.stdout).includes('Resume: capi-launch --stop capi_test_stuck && capi-launch --resume capi_test_stuck'),
    r.stdout,
  );
  const later = await summary(runs, ['--stall-after', '600']);
  assert.ok(lines(later.stdout).includes('Status: RUNNING'), 'a longer limit: not stalled yet');
});

test('every batch finished, the supervisor alive (merging): FINISHING, not PAUSED; control.json paused: PAUSED', async () => {
  const runs = join(tmp.path, 'finishing');
  const dir = await staticRun(runs, { id: 'capi_test_merging', total: 10, beatState: 'completed' });
  let r = await summary(runs, ['--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  let s = JSON.parse(r.stdout);
  assert.deepEqual([s.state, s.done, s.ended, s.exitCode], ['FINISHING', 10, false, null]);
  await writeFileAtomic(
    runPaths(dir).control,
    JSON.stringify({ paused: true, rate: null, concurrency: 8, workers: 2 }),
  );
  r = await summary(runs);
  assert.ok(lines(r.stdout).includes('Status: PAUSED'), r.stdout);
  await writeFileAtomic(
    runPaths(dir).control,
    JSON.stringify({ paused: false, rate: null, concurrency: 8, workers: 2 }),
  );
  r = await summary(runs, ['--json']);
  s = JSON.parse(r.stdout);
  assert.equal(s.state, 'FINISHING');
});

test('DEAD: the supervisor pid is gone and the run is not finished: exit 3 and the resume command', async () => {
  const runs = join(tmp.path, 'dead');
  const pid = await deadPid();
  await staticRun(runs, { id: 'capi_test_dead', total: 10, done: 4, pid });
  const r = await summary(runs);
  assert.equal(r.code, 3);
  assert.ok(lines(r.stdout).includes('Status: DEAD'), r.stdout);
  assert.ok(lines(r.stdout).includes(`Process ID: ${pid} (gone)`));
  assert.ok(lines(r.stdout).includes('Resume: capi-launch --resume capi_test_dead'));
  // Elapsed stops at the last heartbeat (started 300 s ago, silent for the last 100 s).
  await staticRun(runs, { id: 'capi_test_dead2', total: 10, done: 4, pid, beatAgeS: 100 });
  const later = JSON.parse((await summary(runs, ['--json'])).stdout);
  assert.equal(later.state, 'DEAD');
  assert.ok(Math.abs(later.elapsedS - 200) < 5, `elapsed ${later.elapsedS}`);
  assert.equal(later.etaS, null);
});

test('DEAD: run.json says running with no pid anywhere (no supervisor.pid, pid null): no owner, as capi-launch lists it', async () => {
  const runs = join(tmp.path, 'ownerless');
  const dir = await staticRun(runs, { id: 'capi_test_ownerless', total: 10, done: 4, pid: null });
  const r = await summary(runs);
  assert.equal(r.code, 3, r.stdout);
  assert.ok(lines(r.stdout).includes('Status: DEAD'), r.stdout);
  assert.ok(lines(r.stdout).includes('Process ID: - (none recorded)'), r.stdout);
  assert.ok(lines(r.stdout).includes('Resume: capi-launch --resume capi_test_ownerless'));
  assert.equal(JSON.parse((await summary(runs, ['--json'])).stdout).state, 'DEAD');
  // --plain ends by itself, as for any DEAD run, instead of showing RUNNING for ever
  const plain = await runTool('capi-watch', ['--plain', '--interval', '1'], {
    env: { CAPI_RUNS_DIR: runs },
    timeoutMs: 20_000,
  });
  assert.equal(plain.code, 3, plain.stdout);
  assert.match(plain.stdout, /^Status: DEAD$/m);
  // capi-launch's listing of the same folder: dead too (one rule: no pid, no live supervisor)
  const listed = await runTool('capi-launch', ['--status', dir], { env: { CAPI_RUNS_DIR: runs } });
  assert.match(listed.stdout, /\bdead\b/, listed.stdout + listed.stderr);
  // a run not yet taken by its supervisor has no pid either: CREATED while a capi-launch is
  // under way (its lock held by a live process, this one), DEAD (never started) once none is
  await patchManifest(dir, { state: 'created' });
  await writeFileAtomic(launchLockOf(runs), `${process.pid}\ntoken\n`);
  assert.equal(JSON.parse((await summary(runs, ['--json'])).stdout).state, 'CREATED');
  await rm(launchLockOf(runs));
  const never = await summary(runs, ['--json']);
  assert.deepEqual([JSON.parse(never.stdout).state, never.code], ['DEAD', 3]);
});

test('PAUSED: --summary says rate 0 and no ETA, as the dashboard does', async () => {
  const runs = join(tmp.path, 'paused');
  const dir = await staticRun(runs, { id: 'capi_test_paused', total: 10, done: 4, beatAgeS: 30, beatState: 'paused' });
  await writeFileAtomic(
    runPaths(dir).control,
    JSON.stringify({ paused: true, rate: null, concurrency: 8, workers: 2 }),
  );
  const r = await summary(runs, ['--stall-after', '5']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  for (const l of ['Status: PAUSED', 'Rate: 0.0 tests/second', 'ETA: -'])
    assert.ok(lines(r.stdout).includes(l), `missing ${l}\n${r.stdout}`);
  const s = JSON.parse((await summary(runs, ['--json'])).stdout);
  assert.deepEqual([s.state, s.rate, s.etaS], ['PAUSED', 0, null]);
});

test("STOPPED: resumable, no verdict (run.json has none), success rate over the results, the run's own exit code (143)", async () => {
  const runs = join(tmp.path, 'stopped');
  await staticRun(runs, {
    id: 'capi_test_stop',
    total: 10,
    done: 4,
    state: 'stopped',
    beatState: 'stopped',
    pid: null,
  });
  const r = await summary(runs);
  assert.equal(r.code, 143, 'core runExitCode: the code capi-launch --wait gives this run');
  assert.ok(lines(r.stdout).includes('Status: STOPPED'), r.stdout);
  assert.ok(lines(r.stdout).includes('Resume: capi-launch --resume capi_test_stop'));
  await staticRun(runs, {
    id: 'capi_test_stop2',
    total: 10,
    done: 4,
    failEvery: 2,
    state: 'stopped',
    beatState: 'stopped',
    pid: null,
  });
  const failing = await summary(runs);
  assert.equal(failing.code, 143, 'stopped, whatever the counts: not 0 or 1');
  assert.ok(!failing.stdout.includes('Verdict'), failing.stdout);
  assert.ok(lines(failing.stdout).includes('Success Rate: 50.0%'), failing.stdout);
  const s = JSON.parse((await summary(runs, ['--json'])).stdout);
  assert.deepEqual([s.state, s.verdict, s.passRate, s.remaining], ['STOPPED', null, 50, 6]);
});

test('--summary --json: one snapshot line with the numbers of the journals', async () => {
  const runs = join(tmp.path, 'json');
  await staticRun(runs, { id: 'capi_test_json', total: 10, done: 7, failEvery: 2, beatAgeS: 1 });
  const r = await summary(runs, ['--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const out = lines(r.stdout).filter(Boolean);
  assert.equal(out.length, 1);
  const s = JSON.parse(out[0] as string);
  assert.equal(s.type, 'snapshot');
  assert.deepEqual(
    [s.runId, s.state, s.total, s.done, s.passed, s.failed, s.ended, s.exitCode],
    ['capi_test_json', 'RUNNING', 10, 7, 4, 3, false, null],
  );
  assert.deepEqual(
    s.failures.map((f: { id: string }) => f.id),
    ['T00002', 'T00004', 'T00006'],
  );
  assert.equal(s.batches.length, 2);
});

test('a bare capi-exec: --status and --journal, or the folder holding them', async () => {
  const dir = join(tmp.path, 'exec');
  await mkdir(dir);
  const records = [0, 1, 2].map((seq) => result(seq, seq === 2 ? 'error' : 'passed', 'exec', 'r'));
  await appendResults(join(dir, 'results.ndjson'), records);
  await writeHeartbeat(join(dir, 'status.json'), heartbeat('b1', records, { state: 'completed', total: 3 }));
  const r = await runTool('capi-watch', ['--summary', '--status', 'status.json', '--journal', 'results.ndjson'], {
    cwd: dir,
  });
  assert.equal(r.code, 1, r.stderr);
  for (const l of [
    'Execution Method: exec',
    'Status: COMPLETED',
    'Tests Completed: 3 / 3',
    'Passed: 2  Failed: 0  Errors: 1  Skipped: 0',
  ])
    assert.ok(lines(r.stdout).includes(l), `missing ${l}\n${r.stdout}`);
  const folder = await runTool('capi-watch', ['--summary', dir]);
  assert.equal(folder.stdout, r.stdout.replace(/^Run: .*$/m, 'Run: exec'));
});

test('bad usage: exit 2 with one line and a hint', async () => {
  const runs = join(tmp.path, 'none');
  let r = await summary(runs);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^capi-watch: no run found under .*none\n/);
  r = await summary(runs, ['capi_test_missing']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /run not found: "capi_test_missing"/);
  r = await runTool('capi-watch', ['--interval', '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--interval takes a whole number/);
  r = await runTool('capi-watch', ['--stal-after', '3']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
});

test('one run, one pass rate and one exit code: capi-watch and capi-launch --status agree (core run-verdict)', async () => {
  const runs = join(tmp.path, 'agree');
  const cases: Array<[Static, number, number | null]> = [
    // stopped at 4 of 10 with 2 failures: over the results, 143 whatever the counts
    [
      { id: 'capi_test_a1', total: 10, done: 4, failEvery: 2, state: 'stopped', beatState: 'stopped', pid: null },
      143,
      50,
    ],
    // completed with 4 missing: they count; the verdict decides the code
    [
      {
        id: 'capi_test_a2',
        total: 10,
        done: 6,
        state: 'completed',
        verdict: 'failed',
        beatState: 'completed',
        pid: null,
      },
      1,
      60,
    ],
    // given up: 3 whatever the verdict
    [
      { id: 'capi_test_a3', total: 6, done: 6, state: 'failed', verdict: 'passed', beatState: 'completed', pid: null },
      3,
      100,
    ],
  ];
  for (const [spec, code, rate] of cases) {
    await staticRun(runs, spec);
    const watch = await runTool('capi-watch', ['--summary', '--json', spec.id], { env: { CAPI_RUNS_DIR: runs } });
    const snap = JSON.parse(watch.stdout);
    assert.equal(watch.code, code, `${spec.id}: capi-watch exit`);
    assert.equal(snap.exitCode, code);
    const status = await runTool('capi-launch', ['--status', spec.id, '--json'], { env: { CAPI_RUNS_DIR: runs } });
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout);
    assert.equal(s.passRate, rate, `${spec.id}: capi-launch pass rate`);
    assert.equal(snap.passRate === null ? null : Math.round(snap.passRate * 10) / 10, rate, `${spec.id}: watch`);
  }
});

test('--summary RUN started in the moment a capi-launch has made the folder and nothing in it waits for the run, then shows it', async () => {
  const runs = join(tmp.path, 'making');
  const id = 'capi_test_20260101_130000';
  await mkdir(join(runs, id), { recursive: true });
  // the launch's lock, held by a live process (this one) as capi-launch holds it while it makes the run
  await writeFileAtomic(launchLockOf(runs), `${process.pid}\ntoken\n`);
  const child = spawn(process.execPath, [binPath('capi-watch'), '--summary', id], {
    env: testEnv({ CAPI_RUNS_DIR: runs }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  standIns.push(child);
  const ended = collect(child, { timeoutMs: 30_000 });
  let said = '';
  child.stderr?.on('data', (d: Buffer) => {
    said += d.toString();
  });
  await waitFor('capi-watch waiting', () => said.includes('waiting for the capi-launch') || child.exitCode !== null);
  // Before: exit 2 at once, "not a run folder (no run.json) and no heartbeat or journal in it".
  assert.equal(child.exitCode, null, said);
  await createRun(runs, { id, total: 4, batches: 1, pid: null, state: 'created' });
  // the launch still holds its lock (its supervisor has not taken the run yet): CREATED, not
  // DEAD; a lock let go with the run still `created` and no supervisor is a launch that died
  const r = await ended;
  await rm(launchLockOf(runs));
  assert.match(r.stdout, /^Status: CREATED$/m);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, `capi-watch: ${id}: no run.json yet: waiting for the capi-launch of ${runs} to make it\n`);
  assert.match(r.stdout, new RegExp(`^Run: ${id}$`, 'm'));
});

test('--summary RUN of a folder named as runs are, no launch under way: not a run folder, at once', async () => {
  const runs = join(tmp.path, 'not-making');
  await mkdir(join(runs, 'capi_test_20260101_130001'), { recursive: true });
  const r = await runTool('capi-watch', ['--summary', 'capi_test_20260101_130001'], {
    env: { CAPI_RUNS_DIR: runs },
    timeoutMs: 10_000,
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /capi_test_20260101_130001: not a run folder \(no run\.json\) and no heartbeat or journal in it/,
  );
  assert.doesNotMatch(r.stderr, /waiting/);
});
