import { closeSync, openSync } from 'node:fs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  DONE,
  ENDS_FILE,
  FAILED,
  type FileThreadMemory,
  META,
  type PieceFailure,
  PUBLISHED,
  READER_WAITS,
  SLOT_BYTES,
  SLOTS,
  STARTS_FILE,
  STOP,
  WAIT_MS,
  WAITING,
  writeBytes,
} from './batch-files.js';

/**
 * The batch-file thread (started by batch-files.ts): creates, writes and closes batch files
 * in the order the reading thread hands them over, so that the suite is parsed on one core
 * while its files are written on the other.
 *
 * The hand-over is shared memory, not messages: structured-cloning each batch's text cost
 * the reading thread 3.5 s over a million rows (profiled), more than the thread saved. The
 * reading thread encodes its text straight into one of SLOTS slots and publishes it; this
 * thread writes the slot's bytes and marks it done. A slot is a piece of one file: the
 * file's path first when the piece starts a file, and a flag when it ends one.
 */
function failure(err: unknown, path: string | null): PieceFailure {
  const e = err as NodeJS.ErrnoException;
  const out: PieceFailure = { message: e instanceof Error ? e.message : String(err) };
  if (typeof e.code === 'string') out.code = e.code;
  if (typeof e.errno === 'number') out.errno = e.errno;
  if (typeof e.syscall === 'string') out.syscall = e.syscall;
  const where = typeof e.path === 'string' ? e.path : path;
  if (where !== null) out.path = where;
  return out;
}

/** The thread's loop: blocks until a slot is published, writes it, marks it done; ends on STOP. */
function serve(port: NonNullable<typeof parentPort>, mode: number, memory: FileThreadMemory): void {
  const control = new Int32Array(memory.control);
  const meta = new Int32Array(memory.meta);
  const bytes = Buffer.from(memory.slots);
  let fd: number | null = null;
  let path: string | null = null;
  let failed = false;
  for (let next = 0; ; next++) {
    while (Atomics.load(control, PUBLISHED) === next) {
      if (Atomics.load(control, STOP) === 1) return;
      // WAITING before the wait, PUBLISHED compared by the wait itself: a slot published in
      // between is seen either here or by the reading thread's check of WAITING (all
      // sequentially consistent). Bounded: a STOP stored in between is seen within WAIT_MS.
      Atomics.store(control, WAITING, 1);
      Atomics.wait(control, PUBLISHED, next, WAIT_MS);
      Atomics.store(control, WAITING, 0);
    }
    const slot = next % SLOTS;
    const at = slot * SLOT_BYTES;
    const pathBytes = meta[slot * META] as number;
    const textBytes = meta[slot * META + 1] as number;
    const flags = meta[slot * META + 2] as number;
    if (!failed) {
      try {
        if (flags & STARTS_FILE) {
          path = bytes.toString('utf8', at, at + pathBytes);
          fd = openSync(path, 'wx', mode);
        }
        if (fd === null) throw new Error('a batch-file piece with no file open');
        writeBytes(fd, bytes, at + pathBytes, at + pathBytes + textBytes);
        if (flags & ENDS_FILE) {
          const done = fd;
          fd = null;
          closeSync(done);
        }
      } catch (err) {
        failed = true;
        if (fd !== null) closeSync(fd);
        fd = null;
        port.postMessage(failure(err, path));
        Atomics.store(control, FAILED, 1);
      }
    }
    Atomics.store(control, DONE, next + 1);
    // The reader is woken once half the slots are free again (or all are), not per slot:
    // it then fills several before it waits again (a wake-up costs both threads system calls).
    if (Atomics.load(control, READER_WAITS) === 1 && Atomics.load(control, PUBLISHED) - (next + 1) <= SLOTS / 2)
      Atomics.notify(control, DONE);
  }
}

// Only as the entry of the thread batchFiles starts (marked in its workerData): a library
// imported into some other worker must not start serving.
const data = workerData as { batchFileThread?: true; mode: number; memory: FileThreadMemory } | null;
if (!isMainThread && parentPort !== null && data?.batchFileThread === true) serve(parentPort, data.mode, data.memory);
