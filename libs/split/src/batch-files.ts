import { closeSync, openSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/**
 * Where batch files are written, one file at a time: `open`, `write` its text in any
 * number of pieces, `close`. The first FILES_HERE files (every file of a suite under
 * THREAD_FROM_BYTES) are written on the calling thread, synchronously (a small suite never
 * starts a thread); later ones on a thread of their own
 * (batch-file-thread.ts), in order, so that a large suite is parsed on one core while its
 * files are created, written and closed on the other.
 *
 * Why: with batches of 100 a million rows are 10,000 files; their open, write and close
 * calls took 1.7-2.5 s of the reading thread and encoding their text into a Buffer 0.8 s
 * (profiled, of about 14 s). fs/promises per file was measured once and cost more CPU
 * than it saved (a promise and three thread-pool hand-offs per file); so did
 * postMessage of the text (3.5 s of structured cloning). Here the text is encoded once,
 * straight into shared memory, and a file costs the reading thread no system call.
 */
export interface BatchFiles {
  /** Starts the next file (created exclusively, with `mode`). */
  open(path: string): void;
  /** Adds text to the open file; waits only while the thread is SLOTS pieces behind. */
  write(text: string): Promise<void> | undefined;
  /** Ends the open file. */
  close(): Promise<void> | undefined;
  /** Every file written; the first failure thrown. */
  done(): Promise<void>;
  /** Stops at once (on an error): nothing more is written once this settles, so the folder can go. */
  abort(): Promise<void>;
}

// The layout of the memory shared with the file thread (batch-file-thread.ts).
export const SLOTS = 8;
/** Holds a piece of up to 64 Ki characters of ASCII (write-batches.ts WRITE_AT) and its path. */
export const SLOT_BYTES = 128 * 1024;

/** Indexes into the control array (Int32). */
export const PUBLISHED = 0; // slots published so far (the reading thread)
export const DONE = 1; // slots written so far (the file thread), failed ones too
export const FAILED = 2; // 1 after a failure; the failure itself is the file thread's one message
export const STOP = 3; // 1: stop once every published slot is done
export const WAITING = 4; // 1 while the file thread waits for a slot: only then is it woken
export const READER_WAITS = 5; // 1 while the reading thread waits for slots: only then is it woken

/** The longest the file thread sleeps before it looks for STOP again. */
export const WAIT_MS = 100;

/** Per slot, in the meta array (Int32): path bytes, text bytes, flags. */
export const META = 3;
export const STARTS_FILE = 1;
export const ENDS_FILE = 2;

/** What the reading thread needs to rebuild a file system error (code and path: one line, exit 3). */
export interface PieceFailure {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
}

export interface FileThreadMemory {
  control: SharedArrayBuffer;
  meta: SharedArrayBuffer;
  slots: SharedArrayBuffer;
}

/** Writes all of `text`; a short write (a filling disk) goes on from where it stopped, as bytes. */
export function writeText(fd: number, text: string): void {
  const written = writeSync(fd, text);
  if (written === Buffer.byteLength(text)) return;
  const bytes = Buffer.from(text);
  writeBytes(fd, bytes, written, bytes.length);
}

/** Writes bytes[start, end) whole: a short write goes on from where it stopped (the file thread's too). */
export function writeBytes(fd: number, bytes: Buffer, start: number, end: number): void {
  for (let off = start; off < end; ) off += writeSync(fd, bytes, off, end - off);
}

const FILES_HERE = 16;
/**
 * A suite smaller than this (its size known: a file, not stdin) has all its files written on
 * the calling thread: starting the file thread (a V8 isolate of its own) cost more CPU than
 * it saved below it. Measured on `id,url` suites split in batches of 100 (load 5-9, medians
 * of 8 interleaved runs): 8,000 rows (134 KB, 80 files) 0.54 s of CPU with the thread, 0.46
 * s without, and 0.70 against 0.52 s of wall; 32,000 rows (560 KB, 320 files) 0.83 against
 * 0.72 s of CPU at the same wall; 128,000 rows (2.3 MB, 1,280 files) the thread's 0.92 s of
 * wall against 1.07 s without it.
 */
export const THREAD_FROM_BYTES = 1024 * 1024;
/** Slots published and not yet written at which the thread is woken. */
const WAKE_AT = SLOTS / 2;
/** A file written here is written in pieces of this much text (a string over 128 KiB lands in V8's large-object space). */
const HERE_PIECE = 64 * 1024;

/**
 * `inputBytes`: the size of the suite the files come from, when known; below
 * THREAD_FROM_BYTES no thread is started, whatever the number of files. `onThreadOnline`
 * hears the file thread running, once (see WriteBatchesOptions.onThreadOnline).
 */
export function batchFiles(mode: number, inputBytes?: number, onThreadOnline?: () => void): BatchFiles {
  const filesHere = inputBytes !== undefined && inputBytes < THREAD_FROM_BYTES ? Number.POSITIVE_INFINITY : FILES_HERE;
  let opened = 0;
  let thread: FileThread | null = null;
  /** The open file when it is written here: its fd once a piece was written, and the text not yet written. */
  let here: { path: string; fd: number | null; text: string } | null = null;
  const flushHere = (file: { path: string; fd: number | null; text: string }) => {
    file.fd ??= openSync(file.path, 'wx', mode);
    const { fd, text } = file;
    file.text = '';
    try {
      writeText(fd, text);
    } catch (err) {
      file.fd = null;
      closeSync(fd);
      throw withPath(err, file.path);
    }
  };
  return {
    open(path) {
      if (++opened <= filesHere) {
        here = { path, fd: null, text: '' };
        return;
      }
      here = null;
      thread ??= new FileThread(mode, onThreadOnline);
      thread.open(path);
    },
    write(text) {
      if (here === null) return thread?.write(text);
      here.text += text;
      if (here.text.length >= HERE_PIECE) flushHere(here);
      return undefined;
    },
    close() {
      if (here === null) return thread?.close();
      const file = here;
      here = null;
      flushHere(file);
      if (file.fd !== null) closeSync(file.fd);
      return undefined;
    },
    async done() {
      await thread?.finish();
    },
    async abort() {
      if (here !== null && here.fd !== null) closeSync(here.fd);
      here = null;
      await thread?.stop();
    },
  };
}

/** The reading thread's side of batch-file-thread.ts: fills slots and publishes them in order. */
class FileThread {
  private readonly worker: Worker;
  private readonly control: Int32Array;
  private readonly meta: Int32Array;
  private readonly bytes: Buffer;
  private readonly failure: Promise<Error>;
  /** Slots published; the slot being filled is published % SLOTS. */
  private published = 0;
  /** Bytes used in the slot being filled, and how many of them are the path. */
  private fill = 0;
  private pathBytes = 0;
  private startsFile = false;
  private exited = false;
  private stopping = false;

  constructor(mode: number, onOnline?: () => void) {
    const memory: FileThreadMemory = {
      control: new SharedArrayBuffer(6 * 4),
      meta: new SharedArrayBuffer(SLOTS * META * 4),
      slots: new SharedArrayBuffer(SLOTS * SLOT_BYTES),
    };
    this.control = new Int32Array(memory.control);
    this.meta = new Int32Array(memory.meta);
    this.bytes = Buffer.from(memory.slots);
    this.worker = new Worker(new URL('./batch-file-thread.js', import.meta.url), {
      workerData: { batchFileThread: true, mode, memory },
      // it keeps no text of its own: a small heap keeps the process's peak RSS low
      resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 },
      stdout: false,
      stderr: false,
    });
    if (onOnline) this.worker.once('online', onOnline);
    this.failure = new Promise((resolve) => {
      const fail = (err: Error) => {
        // wakes the reading thread if it waits for a slot; it then finds the flag
        Atomics.store(this.control, FAILED, 1);
        Atomics.notify(this.control, DONE);
        resolve(err);
      };
      this.worker.on('message', (f: PieceFailure) => fail(asError(f)));
      this.worker.on('error', fail);
      this.worker.on('exit', () => {
        // after STOP with every slot done, the thread's loop ends: that is not a failure
        if (this.stopping && Atomics.load(this.control, DONE) >= this.published) return;
        this.exited = true;
        fail(new Error('the batch-file thread stopped'));
      });
    });
  }

  open(path: string): void {
    const at = this.slotStart();
    this.pathBytes = this.bytes.write(path, at, SLOT_BYTES / 2);
    if (this.pathBytes !== Buffer.byteLength(path)) throw new RangeError(`path too long: ${path}`);
    this.fill = this.pathBytes;
    this.startsFile = true;
  }

  write(text: string): Promise<void> | undefined {
    return this.into(text) ? undefined : this.spill(text);
  }

  close(): Promise<void> | undefined {
    return this.publish(ENDS_FILE);
  }

  async finish(): Promise<void> {
    this.stopping = true;
    Atomics.store(this.control, STOP, 1);
    Atomics.notify(this.control, PUBLISHED);
    for (let done = this.done(); !this.failed() && done < this.published; done = this.done()) await this.change(done);
    const failed = this.failed() ? await this.failure : null;
    await this.worker.terminate();
    if (failed !== null) throw failed;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    Atomics.store(this.control, STOP, 1);
    Atomics.notify(this.control, PUBLISHED);
    await this.worker.terminate();
  }

  /** Encodes `text` into the slot being filled if it fits (then true). */
  private into(text: string): boolean {
    const room = SLOT_BYTES - this.fill;
    const n = this.bytes.write(text, this.slotStart() + this.fill, room);
    // Buffer#write stops before a character that does not fit: less than 4 bytes of room are left then
    if (room - n < 4 && n !== Buffer.byteLength(text)) return false;
    this.fill += n;
    return true;
  }

  /** Text that does not fit in the slot's room: the slot goes as it is, the text into the next, or as many as it needs. */
  private async spill(text: string): Promise<void> {
    if (this.fill > this.pathBytes || this.startsFile) await this.publish(0);
    if (this.into(text)) return;
    // a record larger than a slot (rare): its bytes in slot-sized parts
    const all = Buffer.from(text);
    for (let off = 0; off < all.length; ) {
      const part = Math.min(SLOT_BYTES - this.fill, all.length - off);
      all.copy(this.bytes, this.slotStart() + this.fill, off, off + part);
      this.fill += part;
      off += part;
      if (this.fill === SLOT_BYTES) await this.publish(0);
    }
  }

  /** Publishes the slot being filled (with `flags`); waits only when the next slot is still the thread's. */
  private publish(flags: number): Promise<void> | undefined {
    if (this.failed()) return this.failure.then((err) => Promise.reject(err));
    const slot = this.published % SLOTS;
    this.meta[slot * META] = this.startsFile ? this.pathBytes : 0;
    this.meta[slot * META + 1] = this.fill - this.pathBytes;
    this.meta[slot * META + 2] = (this.startsFile ? STARTS_FILE : 0) | flags;
    this.published++;
    Atomics.store(this.control, PUBLISHED, this.published);
    const behind = this.published - Atomics.load(this.control, DONE);
    // A wake-up per slot cost the reading thread some 3 s over 10,000 files (profiled):
    // the thread is woken only once half the slots wait for it, and then writes them all.
    if (behind >= WAKE_AT && Atomics.load(this.control, WAITING) === 1) Atomics.notify(this.control, PUBLISHED);
    this.fill = 0;
    this.pathBytes = 0;
    this.startsFile = false;
    if (behind < SLOTS) return undefined;
    return this.slotFree();
  }

  private async slotFree(): Promise<void> {
    for (let done = this.done(); !this.failed() && this.published - done >= SLOTS; done = this.done())
      await this.change(done);
    if (this.failed()) throw await this.failure;
  }

  private slotStart(): number {
    return (this.published % SLOTS) * SLOT_BYTES;
  }

  private failed(): boolean {
    return this.exited || Atomics.load(this.control, FAILED) === 1;
  }

  private done(): number {
    return Atomics.load(this.control, DONE);
  }

  /**
   * Resolves once the count of slots done is no longer `seen` (or on a failure, which
   * notifies too). `seen` is the count the caller tested: read anew here, a count that
   * moved in between would be waited past, and the thread may have nothing left to do.
   */
  private async change(seen: number): Promise<void> {
    Atomics.store(this.control, READER_WAITS, 1);
    const wait = waitAsync(this.control, DONE, seen);
    if (wait.async) await wait.value;
    Atomics.store(this.control, READER_WAITS, 0);
  }
}

// Node 20 has Atomics.waitAsync; the TypeScript lib this repository targets does not name it yet.
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/**
 * A write's error names no file (it has an fd): the path is added, so a full disk is one
 * line naming the batch file (core's cli.ts), as the file thread's failures are.
 */
function withPath(err: unknown, path: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof Error && typeof e.code === 'string' && e.path === undefined) e.path = path;
  return err;
}

/** The thread's failure as the error a synchronous call would have thrown (code, syscall, path kept). */
function asError(f: PieceFailure): Error {
  const err = new Error(f.message) as NodeJS.ErrnoException;
  if (f.code !== undefined) err.code = f.code;
  if (f.errno !== undefined) err.errno = f.errno;
  if (f.syscall !== undefined) err.syscall = f.syscall;
  if (f.path !== undefined) err.path = f.path;
  return err;
}
