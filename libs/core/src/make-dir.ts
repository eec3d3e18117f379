import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DIR_MODE } from './atomic-write.js';
import { isErrnoException } from './errors.js';

type Mkdir = (path: string, o: { recursive?: boolean; mode: number }) => Promise<unknown>;

/**
 * `mkdir -p` (owner-only) that reports the real cause: Node's recursive mkdir says ENOENT
 * ("no such file or folder") for any failure on the way, a read-only file system or a
 * denied permission included. On ENOENT the first missing folder is made alone, which
 * fails with the real error (EROFS, EACCES...) for the one-line message of docs/cli.md.
 */
export async function makeDir(path: string, make: Mkdir = mkdir): Promise<void> {
  try {
    await make(path, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    if (!isErrnoException(err) || err.code !== 'ENOENT') throw err;
    // Throws the real cause; when it makes every folder (one appeared meanwhile), all is well.
    await makeOneByOne(path, make);
  }
}

async function makeOneByOne(path: string, make: Mkdir): Promise<void> {
  const parent = dirname(path);
  if (parent !== path && !(await stat(parent).catch(() => null))) await makeOneByOne(parent, make);
  try {
    await make(path, { mode: DIR_MODE });
  } catch (err) {
    if (!isErrnoException(err) || err.code !== 'EEXIST') throw err;
  }
}
