import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '@capi/core';
import { type StandInSupervisor, standInSupervisor } from '@capi/testkit';
import { createRunReader } from './run-reader.js';
import { snapshot } from './snapshot.js';

const root = await mkdtemp(join(tmpdir(), 'capi-watch-reader-'));
const children: ChildProcess[] = [];
const supervisors: StandInSupervisor[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const s of supervisors) await s.stop();
  await rm(root, { recursive: true, force: true });
});

/** A stand-in worker: a live pid, nothing more. */
function standIn(): ChildProcess {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

/** A stand-in supervisor of `dir` (`--supervise DIR` in its argv, core's identity rule). */
async function supervisorOf(dir: string): Promise<StandInSupervisor> {
  const s = await standInSupervisor(dir);
  supervisors.push(s);
  return s;
}

const gone = (c: ChildProcess) =>
  new Promise<void>((resolve) => {
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  });

/** A run folder with one batch going: run.json and the heartbeat both say running. */
async function liveRun(name: string) {
  const dir = join(root, name);
  await mkdir(join(dir, 'status'), { recursive: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  const supervisor = await supervisorOf(dir);
  const worker = standIn();
  const manifest = {
    id: name,
    state: 'running',
    total: 2,
    pid: supervisor.pid,
    verdict: null,
    suite: { file: '/suite.csv' },
    options: {},
  };
  await writeFileAtomic(join(dir, 'run.json'), JSON.stringify(manifest));
  const beat = { state: 'running', pid: worker.pid, batch: 'batch_0001', total: 2, done: 0 };
  await writeFileAtomic(join(dir, 'status', 'batch_0001.json'), JSON.stringify(beat));
  await writeFile(join(dir, 'logs', 'supervisor.log'), 'started\n');
  const reader = createRunReader({ kind: 'run', id: name, dir });
  await reader.readAll();
  return { dir, supervisor, worker, manifest, beat, reader };
}

const opts = () => ({ now: Date.now(), stallAfterS: 60 });

test('a run that ends between a read of run.json and the pid check is not DEAD', async (t) => {
  const r = await liveRun('capi_ends_between');
  t.after(() => r.reader.close());
  assert.equal(snapshot(r.reader.state, opts()).state, 'RUNNING');
  // The worker and then the supervisor write their last state and exit. The watcher's next
  // event is for another file (the log), so what it holds of run.json and the heartbeat is
  // one write behind when it finds both pids gone.
  await writeFileAtomic(join(r.dir, 'status', 'batch_0001.json'), JSON.stringify({ ...r.beat, state: 'completed' }));
  await gone(r.worker);
  await writeFileAtomic(
    join(r.dir, 'run.json'),
    JSON.stringify({ ...r.manifest, state: 'completed', verdict: 'passed' }),
  );
  await r.supervisor.stop();
  await r.reader.readPaths([join(r.dir, 'logs', 'supervisor.log')]);
  const s = snapshot(r.reader.state, opts());
  assert.equal(s.state, 'COMPLETED');
  assert.equal(s.exitCode, 0);
  assert.deepEqual(
    s.batches.map((b) => b.state),
    ['completed'],
  );
});

test('a supervisor gone without a last word is DEAD, and so is a worker', async (t) => {
  const r = await liveRun('capi_killed');
  t.after(() => r.reader.close());
  await gone(r.worker);
  await r.supervisor.stop();
  await r.reader.readPaths([join(r.dir, 'logs', 'supervisor.log')]);
  const s = snapshot(r.reader.state, opts());
  assert.equal(s.state, 'DEAD');
  assert.deepEqual(
    s.batches.map((b) => b.state),
    ['DEAD'],
  );
});

test('a supervisor replaced (a resume wrote a new pid file) is read again, not called DEAD', async (t) => {
  const r = await liveRun('capi_resumed');
  t.after(() => r.reader.close());
  const next = await supervisorOf(r.dir);
  await writeFileAtomic(join(r.dir, 'supervisor.pid'), `${next.pid}\n`);
  await r.supervisor.stop();
  await r.reader.readPaths([join(r.dir, 'logs', 'supervisor.log')]);
  assert.equal(snapshot(r.reader.state, opts()).state, 'RUNNING');
});

test('a run cleaned by capi-merge --clean is counted from report/results.ndjson; with journals, only they count', async (t) => {
  const dir = join(root, 'capi_cleaned');
  await mkdir(join(dir, 'report'), { recursive: true });
  await mkdir(join(dir, 'results'), { recursive: true });
  await writeFileAtomic(
    join(dir, 'run.json'),
    JSON.stringify({
      id: 'capi_cleaned',
      state: 'completed',
      verdict: 'failed',
      total: 3,
      pid: null,
      suite: { file: '/suite.csv' },
      options: {},
    }),
  );
  const rec = (id: string, status: string, batch: string) => `${JSON.stringify({ id, name: id, status, batch })}\n`;
  await writeFile(
    join(dir, 'report', 'results.ndjson'),
    rec('A', 'passed', 'batch_0001') + rec('B', 'failed', 'batch_0001') + rec('C', 'passed', 'batch_0002'),
  );
  const cleaned = createRunReader({ kind: 'run', id: 'capi_cleaned', dir });
  t.after(() => cleaned.close());
  await cleaned.readAll();
  await cleaned.readAll();
  const s = snapshot(cleaned.state, opts());
  assert.deepEqual([s.done, s.passed, s.failed], [3, 2, 1], 'read once, however many sweeps');
  assert.deepEqual(s.batchStates, { completed: 2 });
  assert.deepEqual(
    s.failures.map((f) => f.id),
    ['B'],
  );
  // a journal in results/: the run is not cleaned, the merged file is not read
  await writeFile(join(dir, 'results', 'batch_0001.ndjson'), rec('A', 'passed', 'batch_0001'));
  const live = createRunReader({ kind: 'run', id: 'capi_cleaned', dir });
  t.after(() => live.close());
  await live.readAll();
  assert.equal(snapshot(live.state, opts()).done, 1);
});

test("control.json by core's reader: paused and the limits as read; not JSON keeps what was last read, paused too; gone, none", async (t) => {
  const r = await liveRun('capi_control_reads');
  t.after(() => r.reader.close());
  const control = join(r.dir, 'control.json');
  const read = async (text: string | null) => {
    if (text === null) await rm(control);
    else await writeFile(control, text);
    await r.reader.readPaths([control]);
    return { paused: r.reader.state.controlPaused, control: r.reader.state.control };
  };
  const good = { paused: true, rate: '50/s', concurrency: null, workers: 2 };
  assert.deepEqual(await read(JSON.stringify(good)), { paused: true, control: good });
  // a write cut short or a hand edit: what was last read stays, paused too (a worker changes nothing for it)
  assert.deepEqual(await read('{"paused":tr'), { paused: true, control: good });
  // JSON that is no object: every field missing, as a worker reads it
  assert.deepEqual(await read('null'), { paused: false, control: {} });
  assert.deepEqual(await read(null), { paused: false, control: undefined });
});
