import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before } from 'node:test';
import { killAll, repoRoot, runTool, type StandInSupervisor, standInSupervisor, tempDir } from '@capi/testkit';

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
  /** Stopped after the file's tests, with every tool the test kit started. */
  supervisors: StandInSupervisor[];
}

/** The made run, made once before a test file's tests; its folder removed and `supervisors` stopped after them. */
export function madeRunFixture(prefix: string): MadeRunFixture {
  const f: MadeRunFixture = { path: '', made: '', supervisors: [] };
  let cleanup = async () => {};
  before(async () => {
    const { box, made } = await madeRun(prefix);
    Object.assign(f, { path: box.path, made });
    cleanup = box.cleanup;
  });
  after(async () => {
    for (const s of f.supervisors) await s.stop();
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

/** The test kit's stand-in supervisor of `runDir` (its argv holds `--supervise RUN`, shown before it is handed over); stopped with the fixture. */
export async function liveSupervisor(f: MadeRunFixture, runDir: string): Promise<number> {
  const s = await standInSupervisor(runDir);
  f.supervisors.push(s);
  return s.pid;
}
