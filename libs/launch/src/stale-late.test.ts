import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pidAlive, runPaths, writeFileAtomic } from '@capi/core';
import { clearStale, listRuns, type RunEntry } from './runs.js';
import { createdRun } from './test-support/created-run.js';

// A listing's look says "the supervisor is dead"; before clearStale writes on it, a
// supervisor takes the run (a resume's, as supervise.ts takeRun does: supervisor.pid, then
// run.json). Nothing of that live run may be removed or marked stopped under it.

const root = await mkdtemp(join(tmpdir(), 'capi-stale-late-'));
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

/** A pid that was a process a moment ago and is gone now. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await once(c, 'exit');
  return c.pid as number;
}

/** A stand-in supervisor of `runDir` that passes core's identity check (argv `--supervise RUN`). */
async function standIn(runDir: string): Promise<number> {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', '--', '--supervise', runDir], {
    stdio: 'ignore',
  });
  children.push(c);
  await once(c, 'spawn');
  return c.pid as number;
}

const claim = (batch: string, pid: number | null) => {
  const at = new Date().toISOString();
  return JSON.stringify({
    batch,
    worker: 1,
    pid,
    state: 'running',
    restarts: 0,
    exitCode: null,
    claimedAt: at,
    updatedAt: at,
  });
};

/**
 * A run whose supervisor was killed running: `running`, supervisor.pid and run.json naming a
 * dead pid, a claim of a worker that is gone, and one being written (no pid yet).
 */
async function crashedRun(id: string): Promise<{ runDir: string; entry: RunEntry }> {
  const runs = join(root, id);
  const runDir = await createdRun(runs, id);
  const dead = await deadPid();
  const manifest = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
  await writeFileAtomic(join(runDir, 'run.json'), JSON.stringify({ ...manifest, state: 'running', pid: dead }));
  await writeFile(runPaths(runDir).pidFile, `${dead}\n`);
  await mkdir(runPaths(runDir).claims, { recursive: true });
  await writeFile(join(runPaths(runDir).claims, 'batch_0001.json'), claim('batch_0001', await deadPid()));
  await writeFile(join(runPaths(runDir).claims, 'batch_0002.json'), '');
  const [entry] = await listRuns(runs);
  assert.ok(entry && !entry.alive && entry.manifest.state === 'running', 'the look says the supervisor is dead');
  return { runDir, entry };
}

/** What a live run's files say: supervisor.pid, run.json and the claims, as bytes. */
async function filesOf(runDir: string) {
  const claims = runPaths(runDir).claims;
  const names = (await readdir(claims)).sort();
  return {
    pidFile: await readFile(runPaths(runDir).pidFile, 'utf8').catch(() => null),
    manifest: await readFile(join(runDir, 'run.json'), 'utf8'),
    claims: await Promise.all(names.map(async (n) => [n, await readFile(join(claims, n), 'utf8')])),
  };
}

/** A resume's supervisor takes the run after the look: supervisor.pid, then (`wholly`) run.json. */
async function takeRun(runDir: string, wholly: boolean): Promise<number> {
  const pid = await standIn(runDir);
  await writeFile(runPaths(runDir).pidFile, `${pid}\n`);
  if (wholly) {
    const manifest = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
    await writeFileAtomic(join(runDir, 'run.json'), JSON.stringify({ ...manifest, state: 'running', pid }));
  }
  return pid;
}

for (const takeOver of [false, true])
  for (const wholly of [true, false])
    test(`clearStale${takeOver ? ' (a resume taking over)' : ''} of a run a supervisor has taken since the look (${wholly ? 'supervisor.pid and run.json' : 'supervisor.pid written, run.json not yet'}) writes nothing`, async () => {
      const { runDir, entry } = await crashedRun(`capi_test_2026010${takeOver ? 1 : 2}_00000${wholly ? 1 : 2}`);
      const pid = await takeRun(runDir, wholly);
      const before = await filesOf(runDir);
      const said = await clearStale(entry, takeOver);
      assert.deepEqual(
        await filesOf(runDir),
        before,
        'supervisor.pid, run.json and the claims as the live run left them',
      );
      assert.ok(pidAlive(pid));
      assert.equal(
        entry.alive,
        true,
        'the entry now says the run lives (a resume refuses it, a launch counts it live)',
      );
      assert.equal(entry.pid, pid);
      assert.match(said ?? '', new RegExp(`supervisor ${pid} has taken the run since: it is left as it is$`));
      assert.doesNotMatch(said ?? '', /cleared|stopped/);
    });

test('clearStale of a run still dead at its second look clears it as before', async () => {
  const { runDir, entry } = await crashedRun('capi_test_20260103_000001');
  const said = await clearStale(entry);
  assert.match(
    said ?? '',
    /^capi_test_20260103_000001: stale pid file cleared \(supervisor \d+ is gone\); the run is stopped and can be resumed$/,
  );
  const now = await filesOf(runDir);
  assert.equal(now.pidFile, null);
  assert.deepEqual(now.claims, [], 'the claims of workers that are gone released');
  assert.equal(JSON.parse(now.manifest).state, 'stopped');
  assert.equal(entry.manifest.state, 'stopped');
});
