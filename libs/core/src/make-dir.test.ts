import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeDir } from './make-dir.js';

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
    assert.equal((await stat(target)).mode & 0o777, 0o700);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
