/**
 * Tests only, never shipped: loaded with `node --import` ahead of capi-split, it SIGKILLs the
 * process just before its Nth file-system step (`CAPI_TEST_KILL_AT_STEP=N`; a step is a call of
 * fs/promises `rename` or `rm`: every move of `--out` and every removal), so a test can crash a
 * split at each point of its final moves in turn, as a power cut would.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const at = Number(process.env.CAPI_TEST_KILL_AT_STEP);
if (Number.isSafeInteger(at) && at > 0) {
  let steps = 0;
  const step = () => {
    if (++steps === at) process.kill(process.pid, 'SIGKILL');
  };
  const { rename, rm } = fs.promises;
  fs.promises.rename = (...args: Parameters<typeof rename>) => {
    step();
    return rename(...args);
  };
  fs.promises.rm = (...args: Parameters<typeof rm>) => {
    step();
    return rm(...args);
  };
  // the bundle's `import { rename } from 'node:fs/promises'` sees the patched functions
  syncBuiltinESMExports();
}
