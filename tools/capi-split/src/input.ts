import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { CapiError, ExitCode, isErrnoException } from '@capi/core';

export interface SuiteInput {
  stream: Readable;
  /** The name in messages and records: the path as given, or `<stdin>`. */
  source: string;
  /** A regular file's size when it was opened (undefined: stdin, a pipe, a device). */
  bytes?: number;
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a folder, not a file',
};

/** Opens the suite before anything is written, so a wrong path is one clear line and exit 2. */
export async function openSuite(file: string): Promise<SuiteInput> {
  if (file === '-') return { stream: process.stdin, source: '<stdin>' };
  try {
    const handle = await open(file, 'r');
    const info = await handle.stat();
    if (info.isDirectory()) {
      await handle.close();
      throw new CapiError(`${file}: ${REASONS.EISDIR}`, ExitCode.badInput);
    }
    const stream = handle.createReadStream({ highWaterMark: 16 * 1024 });
    return info.isFile() ? { stream, source: file, bytes: info.size } : { stream, source: file };
  } catch (err) {
    if (isErrnoException(err) && err.code && REASONS[err.code])
      throw new CapiError(`${file}: ${REASONS[err.code]}`, ExitCode.badInput);
    throw err;
  }
}
