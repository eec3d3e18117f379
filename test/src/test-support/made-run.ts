import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAll, repoRoot, runTool, tempDir } from '@capi/testkit';

const fakeSplit = join(repoRoot, 'libs/launch/dist/test-support/fake-split.js');
const fakeExec = join(repoRoot, 'libs/launch/dist/test-support/fake-exec.js');

/** capi-launch's environment with the stand-in split and exec tools, runs under `runs`. */
export const standInEnv = (runs: string) => ({
  CAPI_RUNS_DIR: runs,
  CAPI_BASE_URL: 'http://127.0.0.1:9',
  CAPI_SPLIT_BIN: fakeSplit,
  CAPI_EXEC_BIN: fakeExec,
});

/**
 * A real completed run (20 tests, 2 batches, launched in the foreground with the stand-in
 * tools) in a temp folder `box`, at `made`: tests copy it and edit the copy by hand.
 */
export async function madeRun(
  prefix: string,
): Promise<{ box: { path: string; cleanup: () => Promise<void> }; made: string }> {
  const box = await tempDir(prefix);
  const suite = join(box.path, 'suite.csv');
  writeFileSync(suite, `id,url\n${Array.from({ length: 20 }, (_, i) => `T${i + 1},/items/${i + 1}`).join('\n')}\n`);
  const runs = join(box.path, 'made');
  const r = await runTool('capi-launch', [suite, '--foreground', '--batch-size', '10'], { env: standInEnv(runs) });
  assert.equal(r.code, 0, r.stderr);
  const made = readdirSync(runs)
    .filter((n) => n.startsWith('capi_test_'))
    .map((n) => join(runs, n))[0] as string;
  return { box, made };
}

/** A test file's made run (`madeRun`): its temp folder `path`, the run `made`, and the processes its tests started. */
export interface MadeRunFixture {
  path: string;
  made: string;
  /** Killed after the file's tests, with every tool the test kit started. */
  children: ChildProcess[];
}

/** The made run, made once before a test file's tests; its folder removed and `children` killed after them. */
export function madeRunFixture(prefix: string): MadeRunFixture {
  const f: MadeRunFixture = { path: '', made: '', children: [] };
  let cleanup = async () => {};
  before(async () => {
    const { box, made } = await madeRun(prefix);
    Object.assign(f, { path: box.path, made });
    cleanup = box.cleanup;
  });
  after(async () => {
    for (const c of f.children) if (c.pid && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
    killAll();
    await cleanup();
  });
  return f;
}

/** The made run copied into a runs folder of its own, `<path>/<name>/<run id>`, for a test to edit. */
export function copyMadeRun(f: MadeRunFixture, name: string): { runs: string; dir: string } {
  const runs = join(f.path, name);
  mkdirSync(runs, { recursive: true });
  const dir = join(runs, basename(f.made));
  cpSync(f.made, dir, { recursive: true, verbatimSymlinks: true });
  return { runs, dir };
}

/** A live process whose argv holds `--supervise RUN`, as core's identity check asks of a supervisor; killed with `f`'s children. */
export async function liveSupervisor(f: MadeRunFixture, runDir: string): Promise<number> {
  const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120_000)', '--', '--supervise', runDir], {
    stdio: 'ignore',
  });
  f.children.push(c);
  await sleep(200);
  return c.pid as number;
}
