import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { CapiError, createAtomicStream, ExitCode, isErrnoException } from '@capi/core';

/**
 * Where one output goes: a file that appears only when complete (temp + rename), or
 * stdout for `-`. Writes wait for 'drain', so a big report never piles up in memory.
 */
export interface Sink {
  readonly path: string;
  write(text: string): Promise<void> | undefined;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

function writer(stream: Writable) {
  let buffer = '';
  const flush = async () => {
    if (buffer === '') return;
    const chunk = buffer;
    buffer = '';
    if (!stream.write(chunk)) await once(stream, 'drain');
  };
  return {
    write(text: string) {
      buffer += text;
      return buffer.length >= 64 * 1024 ? flush() : undefined;
    },
    flush,
  };
}

export async function openSink(path: string, stdout: Writable = process.stdout): Promise<Sink> {
  if (path === '-') {
    const w = writer(stdout);
    return { path, write: w.write, commit: w.flush, abort: w.flush };
  }
  const file = await createAtomicStream(path).catch((err: unknown) => {
    if (isErrnoException(err)) throw new CapiError(`cannot write ${path}: ${err.message}`, ExitCode.cannotRun);
    throw err;
  });
  const w = writer(file.stream);
  return {
    path,
    write: w.write,
    async commit() {
      await w.flush();
      await file.commit();
    },
    abort: () => file.abort(),
  };
}
