import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
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
    // A recursive mkdir that failed on a race (ENOENT) while one by one succeeds is no error.
    const flaky = async (path: string, o: { recursive?: boolean; mode: number }) => {
      if (o.recursive) throw errno('ENOENT', path);
      await mkdir(path, o);
    };
    await makeDir(join(dir, 'x', 'y'), flaky);
    assert.ok((await stat(join(dir, 'x', 'y'))).isDirectory());
    assert.equal((await stat(target)).mode & 0o777, 0o700);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
