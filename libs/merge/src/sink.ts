import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { createAtomicStream, isErrnoException, writeError } from '@capi/core';

/**
 * Where one output goes: a file that appears only when complete (temp + rename), or
 * stdout for `-`. Writes wait for 'drain', so a big report never piles up in memory.
 */
export interface Sink {
  readonly path: string;
  write(text: string): Promise<void> | undefined;
  /** Everything written and on disk (in the temp file); a failed write rejects here at the latest. */
  finish(): Promise<void>;
  /** Puts the finished file in place. */
  commit(): Promise<void>;
  abort(): Promise<void>;
}

function writer(stream: Writable, path: string) {
  let buffer = '';
  const flush = async () => {
    if (buffer === '') return;
    const chunk = buffer;
    buffer = '';
    if (!stream.write(chunk))
      await once(stream, 'drain').catch((err: unknown) => Promise.reject(writeError(path, err)));
  };
  return {
    // Handed on at 16 KB: a longer string lives through more young-generation
    // collections, and what survives them makes V8 grow the young generation (RSS).
    write(text: string) {
      buffer += text;
      return buffer.length >= 16 * 1024 ? flush() : undefined;
    },
    flush,
  };
}

export async function openSink(path: string, stdout: Writable = process.stdout): Promise<Sink> {
  if (path === '-') {
    const w = writer(stdout, 'stdout');
    return { path, write: w.write, finish: w.flush, commit: async () => {}, abort: w.flush };
  }
  const file = await createAtomicStream(path).catch((err: unknown) => {
    throw isErrnoException(err) ? writeError(path, err) : err;
  });
  const w = writer(file.stream, path);
  return {
    path,
    write: w.write,
    async finish() {
      await w.flush();
      await file.finish();
    },
    commit: () => file.commit(),
    abort: () => file.abort(),
  };
}
