import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { launchLockOf } from '@capi/core';
import { runTool } from '@capi/testkit';
import { copyMadeRun, liveSupervisor, madeRunFixture } from './test-support/made-run.js';

// One rule for "is this launched run dead" (core `runIsDead`): capi-launch's listing
// (`--status --json`: `dead`) and capi-watch (`--summary --json`: DEAD, exit 3) judge the
// same run folder the same way. Before, a `created` run whose capi-launch died before its
// supervisor took it was `dead` in the listing but CREATED for ever in capi-watch.

const fixture = madeRunFixture('capi-run-liveness-');

/** A pid that was alive and is gone now. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => c.once('exit', r));
  return c.pid as number;
}

interface Case {
  what: string;
  state: 'created' | 'running';
  /** supervisor.pid and run.json `pid`: none, a gone process, or a live supervisor of the run. */
  pid: 'none' | 'gone' | 'live';
  /** The runs folder's .launch.lock held by a live process (a capi-launch still splitting). */
  launching: boolean;
  dead: boolean;
}

const CASES: Case[] = [
  { what: 'created, its launch dead', state: 'created', pid: 'none', launching: false, dead: true },
  { what: 'created, its launch alive', state: 'created', pid: 'none', launching: true, dead: false },
  { what: 'created, a gone supervisor, its launch alive', state: 'created', pid: 'gone', launching: true, dead: false },
  { what: 'running, no pid', state: 'running', pid: 'none', launching: false, dead: true },
  { what: 'running, a dead pid', state: 'running', pid: 'gone', launching: false, dead: true },
  { what: 'running, a live supervisor', state: 'running', pid: 'live', launching: false, dead: false },
];

/** The made run, copied into its own runs folder and set as `c` says. */
async function runFolderOf(c: Case, n: number): Promise<{ runs: string; id: string }> {
  const { runs, dir } = copyMadeRun(fixture, `case${n}`);
  const id = basename(dir);
  const pid = c.pid === 'none' ? null : c.pid === 'gone' ? await deadPid() : await liveSupervisor(fixture, dir);
  const m = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...m, state: c.state, pid, verdict: null, finished: null }));
  if (pid !== null) writeFileSync(join(dir, 'supervisor.pid'), `${pid}\n`);
  // held by this test's process: alive, and started before the lock was written
  if (c.launching) writeFileSync(launchLockOf(runs), `${process.pid}\ntoken\n`);
  return { runs, id };
}

test('capi-launch --status and capi-watch agree on which runs are dead', async () => {
  const wrong: string[] = [];
  for (const [n, c] of CASES.entries()) {
    const { runs, id } = await runFolderOf(c, n);
    const listed = await runTool('capi-launch', ['--status', '--json'], { env: { CAPI_RUNS_DIR: runs } });
    assert.equal(listed.code, 0, `${c.what}: ${listed.stderr}`);
    const launchState = JSON.parse(listed.stdout).state;
    const watched = await runTool('capi-watch', ['--summary', '--json', id], { env: { CAPI_RUNS_DIR: runs } });
    const watchState = JSON.parse(watched.stdout).state;
    // DEAD is capi-watch's exit 3 (docs/capi-watch.md); a live or created run's --summary is 0
    const want = c.dead ? ['dead', 'DEAD', 3] : [c.state, c.state === 'created' ? 'CREATED' : 'not DEAD', 0];
    const seen = [
      launchState,
      watchState === 'DEAD' || c.dead || c.state === 'created' ? watchState : 'not DEAD',
      watched.code,
    ];
    if (JSON.stringify(seen) !== JSON.stringify(want))
      wrong.push(`${c.what}: capi-launch ${launchState}, capi-watch ${watchState} (exit ${watched.code})`);
  }
  assert.deepEqual(wrong, []);
});

test('capi-watch --plain of a created run whose launch died ends by itself, DEAD, instead of CREATED for ever', async () => {
  const { runs, id } = await runFolderOf(CASES[0] as Case, 100);
  const plain = await runTool('capi-watch', ['--plain', '--interval', '1', id], {
    env: { CAPI_RUNS_DIR: runs },
    timeoutMs: 20_000,
  });
  assert.equal(plain.code, 3, plain.stdout + plain.stderr);
  assert.match(plain.stdout, /^Status: DEAD$/m);
  assert.match(plain.stdout, new RegExp(`^Resume: capi-launch --resume ${id}$`, 'm'));
});
