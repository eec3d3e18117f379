import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { binPath, collect, testEnv } from '@capi/testkit';
import { type Manifest, readJson, sandboxes, until } from './test-support/harness.js';

// The time a launch takes after its run's work has ended: none is left to wait for.

const box = sandboxes(true);

/** Pids of the run's capi-merge started ahead (`--after-go`, its run folder in argv), from /proc. */
function mergesAhead(runDir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv.includes('--after-go') && argv.includes(runDir)) pids.push(Number(name));
    } catch {}
  }
  return pids;
}

test('--foreground: a merge that cannot be spawned (node gone under the run) does not hold the ended run for 30 min', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '150' });
  // node under another name, removed once the run has its worker: capi-merge, spawned at the
  // end with the same node (process.execPath), then fails with ENOENT, as after an upgrade.
  // The merge started ahead (with the run's first batches, while node was there) is killed
  // first, as the OOM killer would: the run then spawns one at its end, the ordinary way.
  const node = join(b.dir, 'node');
  try {
    linkSync(process.execPath, node);
  } catch {
    copyFileSync(process.execPath, node);
  }
  const child = spawn(
    node,
    [binPath('capi-launch'), b.suite(12), '--foreground', '--parallel', '1', '--batch-size', '1'],
    { env: testEnv(b.env), stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const done = collect(child, { timeoutMs: 120_000 });
  const runDir = await until('the run with its worker', () => {
    const id = existsSync(b.runs) ? readdirSync(b.runs).find((n) => n.startsWith('capi_test_')) : undefined;
    if (!id) return null;
    const log = join(b.runs, id, 'logs/capi.log');
    return existsSync(log) && /batch_0001 started/.test(readFileSync(log, 'utf8')) ? join(b.runs, id) : null;
  });
  const ahead = await until('the merge started ahead', () => {
    const pids = mergesAhead(runDir);
    return pids.length > 0 ? pids : null;
  });
  for (const pid of ahead) process.kill(pid, 'SIGKILL');
  unlinkSync(node);
  await until('run.json end', () => readJson<Manifest>(join(runDir, 'run.json')).state === 'completed', 60_000);
  const endedAt = Date.now();
  const r = await done;
  const heldMs = Date.now() - endedAt;
  const log = readFileSync(join(runDir, 'logs/capi.log'), 'utf8');
  assert.match(log, /capi-merge could not write the report \(exit null\)/, log);
  assert.equal(r.code, 0, r.stderr);
  // Before: the merge's 30 min bound, never cleared, held the process (cut here by the 120 s kill).
  assert.ok(heldMs < 10_000, `capi-launch exited ${heldMs} ms after its run's end`);
});
