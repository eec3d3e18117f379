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
  /** Writes bytes the caller may reuse as soon as this returns (they are copied). */
  writeBytes(bytes: Buffer): Promise<void> | undefined;
  /**
   * Room for up to `n` bytes written in place, with no copy through another buffer: the
   * offset in `buffer()` to write from; `advance` then takes the offset after the last
   * byte written. Nothing else may write in between.
   */
  reserve(n: number): number;
  buffer(): Buffer;
  advance(end: number): Promise<void> | undefined;
  /** Everything written and on disk (in the temp file); a failed write rejects here at the latest. */
  finish(): Promise<void>;
  /** Puts the finished file in place. */
  commit(): Promise<void>;
  abort(): Promise<void>;
}

const CHUNK = 64 * 1024;
/**
 * How much may wait in the stream before the writer waits for it. A file stream's own
 * mark is 16 KB, under one chunk: waiting for 'drain' after each chunk made every 64 KB a
 * round trip through the thread pool with this thread idle (about a tenth of the wall
 * time of a million-row JSON + CSV merge). With a few chunks queued, the next is filled
 * while the last is written, and the stream writes what queued up in one writev.
 */
const QUEUED = 4 * CHUNK;

/**
 * Text is encoded as it comes into a 64 KB buffer, handed to the stream when full (another
 * is taken: the stream holds the old until written, then it is taken again). Gathered as a string instead,
 * the pending text lived through young-generation collections, and what survives them
 * makes V8 grow the young generation: measured, up to 16 MB more peak RSS for a report
 * of a million rows.
 */
function writer(stream: Writable, path: string) {
  let buf: Buffer = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  // Buffers the stream has written, for the next chunks: a fresh one per chunk is 64 KB
  // of memory outside V8's heap until a collection, which never came soon enough once
  // this thread stopped waiting (measured: 60 MB more peak RSS).
  const free: Buffer[] = [];
  // A wait reserve() started (the stream was full): advance() hands it to the caller.
  let waiting: Promise<unknown> | undefined;
  const drained = () => once(stream, 'drain').catch((err: unknown) => Promise.reject(writeError(path, err)));
  /** Hands the filled part on; a promise when the stream wants the writer to wait. */
  const handOn = (): Promise<unknown> | undefined => {
    if (used === 0) return undefined;
    const whole = buf;
    stream.write(whole.subarray(0, used), (err) => {
      // a buffer made larger for one long row is not kept
      if (!err && whole.length === CHUNK && free.length < QUEUED / CHUNK + 2) free.push(whole);
    });
    buf = free.pop() ?? Buffer.allocUnsafe(CHUNK);
    used = 0;
    return stream.writableLength > QUEUED ? drained() : undefined;
  };
  return {
    write(text: string): Promise<void> | undefined {
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      let wait = used + 3 * text.length > CHUNK ? handOn() : undefined;
      if (3 * text.length > CHUNK) {
        // Longer than a buffer: handed on as it is, after what came before it.
        stream.write(text);
        if (stream.writableLength > QUEUED) wait = drained();
      } else {
        used += buf.write(text, used);
        if (wait === undefined && used > CHUNK - 1024) wait = handOn();
      }
      return wait?.then(() => undefined);
    },
    writeBytes(bytes: Buffer): Promise<void> | undefined {
      let wait = used + bytes.length > CHUNK ? handOn() : undefined;
      if (bytes.length > CHUNK) {
        // Longer than a buffer: a copy of its own, after what came before it.
        stream.write(Buffer.from(bytes));
        if (stream.writableLength > QUEUED) wait = drained();
      } else {
        used += bytes.copy(buf, used);
        if (wait === undefined && used > CHUNK - 1024) wait = handOn();
      }
      return wait?.then(() => undefined);
    },
    reserve(n: number): number {
      if (used + n > buf.length) {
        const wait = handOn();
        if (wait) waiting = wait;
        // a row longer than a buffer: a buffer of its own
        if (n > buf.length) buf = Buffer.allocUnsafe(n);
      }
      return used;
    },
    buffer(): Buffer {
      return buf;
    },
    advance(end: number): Promise<void> | undefined {
      used = end;
      let wait = waiting;
      waiting = undefined;
      if (wait === undefined && used > CHUNK - 1024) wait = handOn();
      return wait?.then(() => undefined);
    },
    async flush() {
      await waiting;
      waiting = undefined;
      await handOn();
    },
  };
}

export async function openSink(path: string, stdout: Writable = process.stdout): Promise<Sink> {
  if (path === '-') {
    const w = writer(stdout, 'stdout');
    return { path, ...w, finish: w.flush, commit: async () => {}, abort: w.flush };
  }
  const file = await createAtomicStream(path).catch((err: unknown) => {
    throw isErrnoException(err) ? writeError(path, err) : err;
  });
  const w = writer(file.stream, path);
  return {
    path,
    write: w.write,
    writeBytes: w.writeBytes,
    reserve: w.reserve,
    buffer: w.buffer,
    advance: w.advance,
    async finish() {
      await w.flush();
      await file.finish();
    },
    commit: () => file.commit(),
    abort: () => file.abort(),
  };
}
