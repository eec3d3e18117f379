import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NO_EARLY_WORKERS } from './early-workers.js';
import { isWorkerOf, signal } from './process.js';
import type { Supervision } from './run-batch.js';
import { stopWorkers } from './stop-workers.js';

const started: ChildProcess[] = [];
after(() => {
  for (const c of started) if (c.pid && c.exitCode === null) signal(c.pid, 'SIGKILL');
});

/** A stand-in worker of run `id`: on SIGTERM it finishes "its test in flight" for `busyMs`, then exits 143. */
async function worker(id: string, busyMs: number): Promise<ChildProcess> {
  const code = `process.on('SIGTERM',()=>setTimeout(()=>process.exit(143),${busyMs}));process.stdout.write('up\\n');setInterval(()=>{},1000)`;
  const child = spawn(process.execPath, ['-e', code, '--', '--run-id', id], { stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(child);
  await once(child.stdout as NodeJS.ReadableStream, 'data');
  return child;
}

test('stopWorkers waits for a worker a slot started after the stop began, not only those alive when it began', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'capi-stop-'));
  try {
    const id = `capi_test_stop_${process.pid}`;
    const first = await worker(id, 50);
    const s = {
      runDir,
      manifest: { id, options: { execArgs: ['--grace', '2000'] } },
      claims: new Map(),
      live: new Set<number>([first.pid as number]),
      stopping: false,
      halted: new AbortController(),
      log: () => {},
      early: NO_EARLY_WORKERS,
    } as unknown as Supervision;
    let late: ChildProcess | null = null;
    // a slot that was between its claim and its worker's start: the worker starts after the
    // stop began, is told to stop at once (as workerOf does), and the slot then fails
    const slot = (async () => {
      await new Promise((r) => setTimeout(r, 100));
      late = await worker(id, 1500);
      const pid = late.pid as number;
      s.live.add(pid);
      late.on('exit', () => s.live.delete(pid));
      signal(pid, 'SIGTERM');
      throw new Error('claims/: not a folder');
    })();
    slot.catch(() => {});
    await stopWorkers(s, [slot]);
    assert.ok(late, 'the late worker was started');
    const latePid = (late as ChildProcess).pid as number;
    assert.equal(isWorkerOf(latePid, id), false, 'the late worker outlived stopWorkers');
    assert.equal(isWorkerOf(first.pid, id), false);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});
