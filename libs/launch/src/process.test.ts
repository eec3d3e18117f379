import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { liveWorkers, readClaims } from './claims.js';
import { isAlive, isWorkerOf, killTree, waitGone } from './process.js';
import { PARALLEL_KEEPER } from './remote-attempt.js';
import { stopOrphans } from './stop-workers.js';

const ID = 'capi_test_20260101_000000';
const started: ChildProcess[] = [];
const dirs: string[] = [];
after(async () => {
  for (const c of started) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A process that sleeps with `args` in its argv, as a worker or a decoy would have them. */
async function sleeper(...args: string[]): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', ...args], { stdio: 'ignore' });
  started.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  return child.pid as number;
}

async function runWithClaims(pids: number[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'capi-process-'));
  dirs.push(root);
  const runDir = join(root, ID);
  await mkdir(join(runDir, 'claims'), { recursive: true });
  for (const [i, pid] of pids.entries()) {
    const batch = `batch_${String(i + 1).padStart(4, '0')}`;
    const claim = {
      batch,
      worker: i + 1,
      pid,
      state: 'running',
      restarts: 0,
      exitCode: null,
      claimedAt: '',
      updatedAt: '',
    };
    await writeFile(join(runDir, 'claims', `${batch}.json`), JSON.stringify(claim));
  }
  return runDir;
}

test('a worker is a process with the exact pair --run-id ID in its argv: run ID_2 and a tail of the run folder are not', async () => {
  const worker = await sleeper('capi-exec.js', '--batch', 'batch_0001', '--run-id', ID);
  const otherRun = await sleeper('capi-exec.js', '--run-id', `${ID}_2`);
  const runDir = await runWithClaims([worker, otherRun]);
  const tail = await sleeper('tail', '-f', join(runDir, 'logs/batch_0001.log'), ID);
  assert.equal(isWorkerOf(worker, ID), true);
  assert.equal(isWorkerOf(otherRun, ID), false);
  assert.equal(isWorkerOf(tail, ID), false);
  assert.equal(isAlive(tail, ID), false, 'isAlive with a run id is the same check');
  assert.equal(isWorkerOf(process.pid, ID), false);
  assert.deepEqual(liveWorkers(await readClaims(runDir), ID), [worker]);
});

test('liveWorkers names each process once: a worker handed its next batch holds two running claims', async () => {
  const a = await sleeper('capi-exec.js', '--serve', '--run-id', ID);
  const b = await sleeper('capi-exec.js', '--serve', '--run-id', ID);
  const runDir = await runWithClaims([a, a, b, b]);
  assert.deepEqual(liveWorkers(await readClaims(runDir), ID), [a, b]);
});

test('stopOrphans signals the workers of the run and leaves decoys with the run id or folder in their argv alone', async () => {
  const worker = await sleeper('capi-exec.js', '--run-id', ID);
  const otherRun = await sleeper('capi-exec.js', '--run-id', `${ID}_2`, '--journal', `/x/${ID}_2/results/b.ndjson`);
  const runDir = await runWithClaims([worker, otherRun]);
  const tail = await sleeper('tail', '-f', join(runDir, 'logs/capi.log'));
  // a claim naming the tail's pid: a pid reused by an unrelated process after a crash
  await writeFile(
    join(runDir, 'claims', 'batch_0003.json'),
    JSON.stringify({ batch: 'batch_0003', worker: 3, pid: tail, state: 'running', restarts: 0 }),
  );
  const said: string[] = [];
  await stopOrphans(await readClaims(runDir), ID, (t) => said.push(t));
  assert.ok(await waitGone([worker], 5000), 'the worker of the run was stopped');
  assert.equal(isAlive(otherRun), true, 'the worker of run ID_2 was not signalled');
  assert.equal(isAlive(tail), true, 'the tail of the run folder was not signalled');
  assert.deepEqual(said, [`stopping 1 worker(s) left by the previous supervisor: ${worker}`]);
});

test("killTree ends a --hosts keeper with GNU parallel's job under it, though the job runs in a process group of its own", async () => {
  // the keeper's command stands in for GNU parallel, its job (setpgrp, as GNU parallel runs
  // each job) for an ssh that would keep a remote capi-exec running
  const job = `perl -e 'setpgrp(0, 0); exec q(sleep), q(37.25)' & echo $!; wait`;
  const keeper = spawn('perl', ['-e', PARALLEL_KEEPER, String(process.pid), 'sh', '-c', job], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  started.push(keeper);
  const jobPid = await new Promise<number>((resolve) =>
    keeper.stdout?.once('data', (b) => resolve(Number(String(b).trim()))),
  );
  assert.ok(isAlive(jobPid), 'the job runs');
  try {
    // before: a SIGKILL of the keeper alone, which left the job running for its 37 s
    killTree(keeper.pid as number);
    assert.equal(await waitGone([keeper.pid as number, jobPid], 3_000), true, 'the keeper and its job are gone');
  } finally {
    if (isAlive(jobPid)) process.kill(jobPid, 'SIGKILL');
  }
});
