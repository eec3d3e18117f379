import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isErrnoException } from './errors.js';

/**
 * A file's text (UTF-8), or null when there is no file at `path` (ENOENT): the one reading of
 * "missing means none". Any other failure (a folder, no permission, a path through a file:
 * ENOTDIR) is thrown, for the caller to name: it is not "none".
 */
export async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * `readIfExists` without the thread pool: for a small file read often (control.json four
 * times a second, a journal's meta once per batch), where each fs/promises call is a round
 * trip to the thread pool and back (issue 16).
 */
export function readIfExistsSync(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') return null;
    throw err;
  }
}
