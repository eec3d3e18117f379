import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeDir, splitError } from './create-run.js';

const errno = (code: string, path: string) =>
  Object.assign(new Error(`${code}: mkdir '${path}'`), { code, syscall: 'mkdir', path });

test("makeDir reports the real cause where node's recursive mkdir says ENOENT (a read-only file system)", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-mkdir-'));
  try {
    const target = join(dir, 'ro', 'runs');
    // as on a read-only mount: recursive mkdir says ENOENT, mkdir of the first missing folder says EROFS
    const fake = async (path: string, o: { recursive?: boolean }) => {
      throw o.recursive ? errno('ENOENT', path) : errno('EROFS', path);
    };
    await assert.rejects(makeDir(target, fake), { code: 'EROFS', path: join(dir, 'ro') });
    await makeDir(target);
    await makeDir(target);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("splitError: capi-split's error line, without stack frames, warnings before it or the Try line", () => {
  const stderr =
    'capi-split: warning: suite.csv:4: skipped\ncapi-split: cannot write /r/batches/batch_0003.ndjson: no space left on the device\n    at x (y.js:1:1)\n';
  assert.equal(splitError(stderr), 'cannot write /r/batches/batch_0003.ndjson: no space left on the device');
  assert.equal(
    splitError("capi-split: unknown option '--x'\nTry 'capi-split --help' for more information.\n"),
    "unknown option '--x'",
  );
  assert.equal(splitError(''), '');
});
