import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runTool, tempDir } from '@capi/testkit';

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
