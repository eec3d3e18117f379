import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { holdingRunManifest } from '@capi/core';
import { killAll, type RunResult, runTool, type StandInSupervisor, standInSupervisor, tempDir } from '@capi/testkit';
import { lines, result, testRecord, writeRun } from './test-support/fixture-run.js';
import { listDir, readDefaultReports } from './test-support/report-files.js';

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('capi-merge-clean-');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

async function finishedRun(name: string, withMissing = false) {
  const run = await writeRun(join(tmp.path, name), {
    batches: {
      batch_0001: ['K1', 'K2'].map((id) => testRecord(id)),
      batch_0002: ['K3', ...(withMissing ? ['K4'] : [])].map((id) => testRecord(id)),
    },
    results: {
      'batch_0001.ndjson': lines([result('K1', 'failed', 0), result('K2', 'passed', 1), result('K1', 'passed', 2)]),
      'batch_0002.ndjson': lines([result('K3', 'passed', 3, { batch: 'batch_0002' })]),
    },
    extra: {
      'status/batch_0001.json': '{}',
      'claims/batch_0001.json': '{}',
      'logs/batch_0001.log': 'stderr of batch 1\n',
      'logs/capi.log': 'supervisor log\n',
      'logs/worker_1.log': 'slot 1 took batch_0001\n',
      'results/batch_0001.ndjson.meta.json': '{"version":1}',
      // Left by a capi-exec killed with -9: its pid is gone.
      'results/batch_0002.ndjson.lock': JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), since: '' }),
    },
  });
  return run;
}

test('--clean after a full merge: intermediates gone, report and merged results kept, a re-merge agrees', async () => {
  const run = await finishedRun('done');
  const r = await runTool('capi-merge', [run, '--clean']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /--clean removed 8 intermediates/);
  assert.deepEqual(await listDir(run), ['logs', 'report', 'results', 'run.json']);
  assert.deepEqual(await listDir(join(run, 'logs')), ['capi.log', 'worker_1.log']);
  assert.deepEqual(await listDir(join(run, 'results')), []);
  const merged = (await readFile(join(run, 'report', 'results.ndjson'), 'utf8')).trim().split('\n');
  assert.equal(merged.length, 3);
  const first = await readDefaultReports(join(run, 'report'));
  assert.equal(first.json.summary.counts.flaky, 1);
  // Merging the cleaned folder again reads report/results.ndjson and finds the same tests.
  const again = await runTool('capi-merge', [
    run,
    '--output-json',
    '-',
    '--output-csv',
    join(tmp.path, 'a.csv'),
    '--output-report',
    join(tmp.path, 'a.txt'),
  ]);
  assert.equal(again.code, 0, again.stderr);
  const out = JSON.parse(again.stdout);
  assert.deepEqual(out.summary.counts, first.json.summary.counts);
  assert.deepEqual(
    out.tests.map((t: { id: string; attempts: number }) => [t.id, t.attempts]),
    first.json.tests.map((t: { id: string; attempts: number }) => [t.id, t.attempts]),
  );
});

test('--clean removes nothing while tests are missing: a resume still needs the batches', async () => {
  const run = await finishedRun('incomplete', true);
  const r = await runTool('capi-merge', [run, '--clean']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /warning: --clean: nothing removed: 1 tests are missing/);
  assert.deepEqual(await listDir(run), ['batches', 'claims', 'logs', 'report', 'results', 'run.json', 'status']);
  assert.deepEqual(await listDir(join(run, 'results')), [
    'batch_0001.ndjson',
    'batch_0001.ndjson.meta.json',
    'batch_0002.ndjson',
    'batch_0002.ndjson.lock',
  ]);
});

test('--clean removes nothing while the run supervisor is alive', async () => {
  const run = await finishedRun('live');
  // A live process that is neither capi-merge nor its parent stands in for the supervisor:
  // its argv holds `--supervise RUN` as a real one's does (core's identity check).
  const sleeper = await standInSupervisor(run);
  // and a live process with another argv (a reused pid) does not hold the clean back
  const stranger = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'capi-launch'], { stdio: 'ignore' });
  try {
    await writeFile(join(run, 'supervisor.pid'), String(sleeper.pid));
    const r = await runTool('capi-merge', [run, '--clean']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /--clean: nothing removed: the run's supervisor \(pid \d+\) is still running/);
    assert.ok((await listDir(run)).includes('batches'));
    await writeFile(join(run, 'supervisor.pid'), String(stranger.pid));
    const notOurs = await runTool('capi-merge', [run, '--clean']);
    assert.match(notOurs.stderr, /--clean removed \d+ intermediates/);
  } finally {
    await sleeper.stop();
    stranger.kill('SIGKILL');
  }
});

test("--clean removes nothing while the run's supervisor lives, named by run.json alone (its supervisor.pid removed)", async () => {
  const run = await finishedRun('live-no-pid-file');
  const sleeper = await standInSupervisor(run);
  const stranger = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'capi-launch'], { stdio: 'ignore' });
  const withPid = async (pid: number | undefined) => {
    const m = JSON.parse(await readFile(join(run, 'run.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(run, 'run.json'), JSON.stringify({ ...m, state: 'running', pid }));
  };
  try {
    // capi-launch and capi-watch call this run live (core runSupervisorPid): before, --clean
    // read supervisor.pid only and removed the batches and journals under its supervisor
    await withPid(sleeper.pid);
    const r = await runTool('capi-merge', [run, '--clean']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /--clean: nothing removed: the run's supervisor \(pid \d+\) is still running/);
    assert.ok((await listDir(run)).includes('batches'));
    // run.json's pid is judged as supervisor.pid's is: a reused pid holds nothing back
    await withPid(stranger.pid);
    const notOurs = await runTool('capi-merge', [run, '--clean']);
    assert.match(notOurs.stderr, /--clean removed \d+ intermediates/);
  } finally {
    await sleeper.stop();
    stranger.kill('SIGKILL');
  }
});

test("--clean removes nothing of a run a resume's supervisor takes after capi-merge read it", async () => {
  const run = await finishedRun('resumed');
  const merged = join(run, 'report', 'results.ndjson');
  let merging: Promise<RunResult> | undefined;
  let supervisor: StandInSupervisor | undefined;
  // a supervisor takes a run holding run.json.lock (capi-launch's supervise.ts takeRun): as
  // one does here, capi-merge has written its outputs, so it has judged the run's supervisor
  // gone (before, without the lock, and removed) or waits for the lock to judge it
  await holdingRunManifest(run, async () => {
    merging = runTool('capi-merge', [run, '--clean']);
    for (let i = 0; i < 200 && !(await stat(merged).catch(() => null)); i++) await sleep(50);
    await sleep(300);
    supervisor = await standInSupervisor(run);
    await writeFile(join(run, 'supervisor.pid'), String(supervisor.pid));
  });
  try {
    const r = await (merging as Promise<RunResult>);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /--clean: nothing removed: the run's supervisor \(pid \d+\) is still running/);
    assert.deepEqual(await listDir(run), [
      'batches',
      'claims',
      'logs',
      'report',
      'results',
      'run.json',
      'status',
      'supervisor.pid',
    ]);
  } finally {
    await supervisor?.stop();
  }
});

test('--clean waiting for run.json.lock says so, then cleans once it is let go', async () => {
  const run = await finishedRun('waited');
  const merged = join(run, 'report', 'results.ndjson');
  let merging: Promise<RunResult> | undefined;
  // held by a live holder (this process) for 2.5 s after capi-merge wrote its outputs
  await holdingRunManifest(run, async () => {
    merging = runTool('capi-merge', [run, '--clean']);
    for (let i = 0; i < 200 && !(await stat(merged).catch(() => null)); i++) await sleep(50);
    await sleep(2500);
  });
  const r = await (merging as Promise<RunResult>);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`--clean: waiting for ${join(run, 'run.json.lock')}`));
  assert.match(r.stderr, /--clean removed 8 intermediates/);
});

test('--clean removes nothing while a capi-exec still holds a journal lock', async () => {
  const run = await finishedRun('locked');
  const lock = join(run, 'results', 'batch_0001.ndjson.lock');
  await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), since: '' }));
  const r = await runTool('capi-merge', [run, '--clean']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /--clean: nothing removed: \S+batch_0001\.ndjson\.lock is held by capi-exec pid \d+/);
  assert.ok((await listDir(run)).includes('batches'));
});

test('--clean with an output that cannot be written: exit 3 and nothing removed', async () => {
  const run = await finishedRun('unwritable');
  await mkdir(join(tmp.path, 'a-file'), { recursive: true });
  await writeFile(join(tmp.path, 'a-file', 'x'), '');
  const r = await runTool('capi-merge', [run, '--clean', '--junit', join(tmp.path, 'a-file', 'x', 'junit.xml')]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /^capi-merge: cannot write .*junit\.xml: a part of the path is not a folder\n/);
  assert.deepEqual(await listDir(join(run, 'results')), [
    'batch_0001.ndjson',
    'batch_0001.ndjson.meta.json',
    'batch_0002.ndjson',
    'batch_0002.ndjson.lock',
  ]);
  assert.deepEqual(await listDir(join(run, 'report')), []);
});
