import {
  closeSync,
  createReadStream,
  fdatasync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { FILE_MODE } from './atomic-write.js';
import { type InputError, isErrnoException, writeError } from './errors.js';
import { makeDir } from './make-dir.js';
import { eachNdjsonLine, type NdjsonLine, oneChunk, type ReadNdjsonOptions, readNdjson } from './ndjson.js';

/**
 * The append-only journal: one complete line per finished test, the checkpoint of a run.
 * Appends made in one turn of the event loop are grouped into one write, so many lanes
 * cost one system call, and every line is whole on disk before `append` resolves
 * (docs/run-folder.md, "The journal").
 */
export interface Journal {
  readonly path: string;
  append(record: unknown): Promise<void>;
  /** Appends one line of JSON text already serialized (no newline): saves a second stringify. */
  appendLine(json: string): Promise<void>;
  close(): Promise<void>;
  /** How many bytes of a torn last line were cut when the journal was opened. */
  readonly repairedBytes: number;
}

export interface OpenJournalOptions {
  /** fdatasync after each write: survives power loss, at a cost in speed. */
  fsync?: boolean;
}

/** Where the last line starts: just after the last newline, or 0. */
function lastLineStart(fd: number, size: number): number {
  const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
  let end = size;
  while (end > 0) {
    const len = Math.min(chunk.length, end);
    readAll(fd, chunk.subarray(0, len), end - len);
    const nl = chunk.subarray(0, len).lastIndexOf(10);
    if (nl !== -1) return end - len + nl + 1;
    end -= len;
  }
  return 0;
}

/** Fills `buf` from `pos` (a read may return less than asked). */
function readAll(fd: number, buf: Buffer, pos: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, pos + off);
    if (n === 0) break;
    off += n;
  }
}

/** A last line without its newline that still parses is a whole record: readJournal yields it. */
function isWholeRecord(fd: number, start: number, size: number): boolean {
  const buf = Buffer.alloc(size - start);
  readAll(fd, buf, start);
  try {
    JSON.parse(buf.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Cuts a torn last line so that new lines never follow half a line. A last record that
 * only lacks its newline gets one instead: a resume that read the journal before opening
 * it counted that test as done, so cutting it would lose its result.
 */
function cutTornTail(fd: number): number {
  const { size } = fstatSync(fd);
  if (size === 0) return 0;
  const keep = lastLineStart(fd, size);
  if (keep === size) return 0;
  if (isWholeRecord(fd, keep, size)) {
    writeAll(fd, Buffer.from('\n'));
    return 0;
  }
  ftruncateSync(fd, keep);
  return size - keep;
}

/**
 * Opens the journal for appending, its folder made only when missing. Synchronous: a
 * capi-exec worker opens one journal per batch of 100 tests, and each fs/promises step
 * (mkdir, stat, open, fstat) was a thread-pool round trip (issue 16).
 */
async function openAppend(path: string): Promise<number> {
  try {
    return openSync(path, 'a+', FILE_MODE);
  } catch (err) {
    if (!isErrnoException(err) || err.code !== 'ENOENT') throw err;
  }
  await makeDir(dirname(path));
  return openSync(path, 'a+', FILE_MODE);
}

/** The appends waiting for one write. */
interface Group {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function newGroup(): Group {
  let resolve: () => void = () => {};
  let reject: (e: unknown) => void = () => {};
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** fdatasync in the thread pool: it takes milliseconds, and the answers keep being read meanwhile. */
const datasync = promisify(fdatasync);

/** Writes all of `buf` at the end of the file (append mode): a short write goes on where it stopped. */
function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off);
}

export async function openJournal(path: string, options: OpenJournalOptions = {}): Promise<Journal> {
  const fd = await openAppend(path);
  let repairedBytes: number;
  try {
    repairedBytes = cutTornTail(fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  let closed = false;
  let queue: string[] = [];
  // The appends of one write share one promise: they succeed or fail together, and a
  // promise per test was a tenth of the journal's own cost at 10,000 tests/s.
  let group: Group | null = null;
  let scheduled = false;
  /** --fsync: the fdatasync of the last write, under way; lines that come meanwhile wait for the next. */
  let syncing: Promise<void> | null = null;

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };

  // The lines of one turn of the event loop (every answer read in it) go in one write, made
  // here on the main thread: a write to the page cache takes microseconds, while one through
  // the thread pool (fs/promises) costs a hand-over and a wake-up each, about a tenth of
  // capi-exec's time at full speed (issue 16). A journal on a stalled file system stalls
  // the run either way, since a test counts only once its line is written.
  function flush(): void {
    scheduled = false;
    if (syncing || queue.length === 0) return;
    const batch = group as Group;
    // The last line's newline from join (an empty last item): one flat string, which
    // Buffer.from copies once; a `${…}\n` around it was a rope flattened first.
    queue.push('');
    const buf = Buffer.from(queue.join('\n'));
    queue = [];
    group = null;
    try {
      writeAll(fd, buf);
    } catch (err) {
      // a full disk mid-append is "cannot write PATH: no space left on the device" (exit 3),
      // never a stack; a line cut short by it is cut off when the journal is next opened
      const failed = writeError(path, err);
      batch.reject(failed);
      return;
    }
    if (!options.fsync) {
      batch.resolve();
      return;
    }
    // fdatasync takes milliseconds: in the thread pool, so the answers keep being read.
    syncing = datasync(fd).then(
      () => batch.resolve(),
      (err: unknown) => batch.reject(writeError(path, err)),
    );
    void syncing.finally(() => {
      syncing = null;
      if (queue.length > 0) schedule();
    });
  }

  const appendLine = (json: string): Promise<void> => {
    queue.push(json);
    group ??= newGroup();
    schedule();
    return group.promise;
  };

  return {
    path,
    repairedBytes,
    append: (record: unknown) => appendLine(JSON.stringify(record)),
    appendLine,
    async close() {
      // the lines still queued are written now, each append settled, before the file closes
      while (queue.length > 0 || syncing) {
        if (syncing) await syncing.catch(() => {});
        else flush();
      }
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

/** Journals up to this size are read with one readFileSync (what was there when it ran, as a stream's reads). */
const READ_WHOLE_BYTES = 1024 * 1024;

export interface ReadJournalOptions {
  onTornTail?: (line: number, text: string) => void;
  /** A malformed line in the middle is handed here and skipped, instead of ending the read (exit 2). */
  onBadLine?: (error: InputError, text: string) => void;
}

/**
 * A journal up to `READ_WHOLE_BYTES` (a batch's: some 300 KB for 1,000 tests), read whole
 * and handed line by line to `onLine` with no await per line (core `eachNdjsonLine`): the
 * same lines, torn tail and errors as `readJournal`. Returns false, having read nothing,
 * when the journal is larger: the caller reads it with `readJournal`. A journal that does
 * not exist reads as empty.
 */
export function eachSmallJournalLine(
  path: string,
  options: ReadJournalOptions,
  onLine: (l: NdjsonLine) => void,
): boolean {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return true;
  if (st.size > READ_WHOLE_BYTES) return false;
  eachNdjsonLine(readFileSync(path).toString('utf8'), journalReadOptions(path, options), onLine);
  return true;
}

const journalReadOptions = (path: string, options: ReadJournalOptions): ReadNdjsonOptions => ({
  source: path,
  onTornTail: options.onTornTail ?? (() => {}),
  onBadLine: options.onBadLine,
});

/**
 * Reads a journal line by line. A torn last line is skipped (reported through
 * `onTornTail`); a malformed line anywhere else is an error naming file and line.
 * A journal that does not exist reads as empty.
 */
export async function* readJournal(path: string, options: ReadJournalOptions = {}): AsyncGenerator<NdjsonLine> {
  // statSync: one call, not a thread-pool round trip (a worker reads a journal per batch)
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return;
  // a batch's journal (some 40 KB for 100 tests) is read whole, in one call: a stream is
  // an open, two reads and a close through the thread pool, and capi-launch's supervisor
  // reads each batch's journal as the batch ends (docs/benchmarks.md "capi-launch, fifth round")
  const input = st.size <= READ_WHOLE_BYTES ? oneChunk(readFileSync(path)) : createReadStream(path);
  yield* readNdjson(input, journalReadOptions(path, options));
}
