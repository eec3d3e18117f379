import { closeSync, fstatSync, open, openSync, read, readSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import {
  checkPending,
  eachLine,
  InputError,
  isErrnoException,
  type LineCursor,
  lastLine,
  lineCursor,
  validateResultRecord,
} from '@capi/core';
import { foldLine, scanLine } from './fast-line.js';
import { addResult, type MergeState } from './merge-state.js';

/**
 * Reads result records straight into the merge state, cutting lines with core's
 * `eachLine` (docs/formats.md: `\r\n`, blank lines, line numbers, the journal's torn
 * last line) but without core's async generator step per line: merge reads millions of
 * lines, and one await per line cost more than the JSON.parse itself.
 */

export interface ReadOptions {
  /** Journals: a last line with no newline that does not parse is skipped and reported. */
  onTornTail?: (line: number) => void;
  maxLineLength?: number;
  /** `--skip-bad-lines`: a malformed line is handed here (to be warned about and counted) instead of ending the read. */
  onBadLine?: (error: InputError) => void;
}

/** capi-split's output fed to merge by mistake: it has what a test sends and checks, and no outcome. */
function isTestRecord(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || 'status' in v) return false;
  return 'request' in v || 'expect' in v;
}

const TEST_RECORD =
  'this looks like a test record from capi-split (request/expect, no status), not a result from capi-exec: run the tests with capi-exec and merge its output, or give the suite with --suite';

function taker(state: MergeState, label: string, onBadLine?: (error: InputError) => void) {
  const take = strictTaker(state, label);
  if (!onBadLine) return take;
  return (text: string, line: number): void => {
    try {
      take(text, line);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      onBadLine(err);
    }
  };
}

function strictTaker(state: MergeState, label: string) {
  return (text: string, line: number): void => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new InputError(label, line, `malformed JSON: ${(err as Error).message}`);
    }
    const problem = validateResultRecord(value);
    if (problem) throw new InputError(label, line, isTestRecord(value) ? TEST_RECORD : problem);
    addResult(state, value as Record<string, unknown>);
  };
}

export async function readResults(
  state: MergeState,
  input: AsyncIterable<Buffer | string> | Iterable<string>,
  label: string,
  opts: ReadOptions = {},
): Promise<void> {
  const cursor = lineCursor(label, opts.maxLineLength);
  const take = taker(state, label, opts.onBadLine);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of input) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    const start = eachLine(pending, cursor, take);
    pending = start === 0 ? pending : pending.slice(start);
    checkPending(pending.length, cursor);
  }
  takeLast(pending + decoder.end(), cursor, take, opts);
}

function takeLast(
  rest: string,
  cursor: LineCursor,
  take: (text: string, line: number) => void,
  opts: Pick<ReadOptions, 'onTornTail'>,
): void {
  const last = lastLine(rest, cursor, opts.onTornTail);
  if (last) take(last.text, last.line);
}

const CHUNK = 1024 * 1024;
/**
 * Read buffers of finished files, for the next: a launched run's folder holds thousands of
 * journals and batch files, and a fresh 1 MB buffer for each stayed in the process until
 * a full garbage collection (measured: 10-40 MB more peak RSS over 10,000 files).
 */
const spareChunks: Buffer[] = [];
const PIECE = 2 * 1024;

/** Reads up to len bytes into buf at off; 0 at the end. */
export type Reader = (buf: Buffer, off: number, len: number) => number | Promise<number>;

/**
 * A regular file is read with readSync: its bytes are in the page cache or a disk read
 * away, and each asynchronous read was a round trip through the thread pool that the
 * merge, reading one file after another, spent waiting (measured: about half the wall
 * time of an 8,000-test run folder's merge on a loaded machine was idle). Anything else
 * (a FIFO, a device) is read in the thread pool, where a slow writer blocks no one.
 */
function readerOf(fd: number): Reader {
  if (fstatSync(fd).isFile()) return (buf, off, len) => readSync(fd, buf, off, len, null);
  return (buf, off, len) =>
    new Promise((done, fail) => read(fd, buf, off, len, null, (err, n) => (err ? fail(err) : done(n))));
}

/**
 * Opens path, hands its reader to `use` and closes it. A regular file (as stat sees it) is
 * opened here: a launched run's merge opens thousands of journals and batch files, and
 * each open in the thread pool was a round trip this thread spent idle. Anything else, or
 * a path stat cannot see, is opened in the thread pool: opening a FIFO waits for its
 * writer, which may need this thread; stat does not open it. The open errors are fs's own,
 * either way (callers name them).
 */
export async function withFile(path: string, use: (read: Reader) => Promise<void>): Promise<void> {
  const fd = statSync(path, { throwIfNoEntry: false })?.isFile()
    ? openSync(path, 'r')
    : await new Promise<number>((done, fail) => open(path, 'r', (err, fd) => (err ? fail(err) : done(fd))));
  try {
    await use(readerOf(fd));
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a file in 1 MB chunks into one reused buffer and decodes whole lines about 2 KB
 * at a time. Decoding whole files made a large string per file that only a full garbage
 * collection frees: hundreds of MB of old-space garbage and page faults for a million
 * records; small strings die young. Small, because whatever is alive when the young
 * generation is collected makes V8 grow it: with 64 KB pieces it grew to its 32 MB
 * maximum over a million records, with 2 KB pieces it stays at 8-16 MB (measured). A
 * line split by a chunk boundary is moved to the buffer's start.
 */
export function readResultBytes(state: MergeState, read: Reader, label: string, opts: ReadOptions = {}): Promise<void> {
  return readLineBytes(read, label, taker(state, label, opts.onBadLine), opts, {
    scan: scanLine,
    fold: (src) => foldLine(state, src),
  });
}

/**
 * Lines of a known shape read from their bytes (fast-line.ts, fast-test-line.ts): `scan`
 * gives the newline's position of a line of that shape at src[p…] (before limit), or -1;
 * `fold` then takes it (false: the line goes the usual way after all).
 */
export interface FastLines {
  scan: (src: Uint8Array, p: number, limit: number) => number;
  fold: (src: Buffer) => boolean;
}

/**
 * The line cutting of readResultBytes for any NDJSON file (a run folder's batch files
 * too): each non-blank line goes to `take` with its number, synchronously.
 */
export async function readLineBytes(
  read: Reader,
  label: string,
  take: (text: string, line: number) => void,
  opts: Pick<ReadOptions, 'onTornTail' | 'maxLineLength'> = {},
  fast?: FastLines,
): Promise<void> {
  const cursor = lineCursor(label, opts.maxLineLength);
  let buf = spareChunks.pop() ?? Buffer.allocUnsafe(CHUNK);
  try {
    await readChunks();
  } finally {
    // a line longer than a chunk made the buffer bigger: only the usual size is kept
    if (buf.length === CHUNK && spareChunks.length < 2) spareChunks.push(buf);
  }

  async function readChunks(): Promise<void> {
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        // One line fills the buffer: make room for it (up to the limit).
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const got = read(buf, len, buf.length - len);
      const bytesRead = typeof got === 'number' ? got : await got;
      if (bytesRead === 0) break;
      len += bytesRead;
      const view = buf.subarray(0, len);
      const lastNl = view.lastIndexOf(10);
      let start = fast ? fastLines(fast, lastNl) : 0;
      while (start <= lastNl) {
        // Whole lines, about 2 KB at a time, decoded into one short-lived string.
        let end = start + PIECE >= lastNl ? lastNl : view.lastIndexOf(10, start + PIECE);
        if (end < start) end = view.indexOf(10, start);
        eachLine(view.toString('utf8', start, end + 1), cursor, take);
        start = end + 1;
      }
      if (start > 0) {
        buf.copyWithin(0, start, len);
        len -= start;
      }
      checkPending(len, cursor);
    }
    takeLast(buf.toString('utf8', 0, len), cursor, take, opts);
  }

  /**
   * The whole lines before lastNl: each one of the known shape folded from its bytes
   * (fast-line.ts, fast-test-line.ts), the others decoded and taken as above, in runs of up to about 2 KB,
   * in file order. Returns where the unread rest starts.
   */
  function fastLines({ scan, fold }: FastLines, lastNl: number): number {
    const src = buf;
    const limit = lastNl + 1;
    let start = 0;
    let slow = -1;
    while (start <= lastNl) {
      const nl = scan(src, start, limit);
      if (nl >= 0 && nl - start <= cursor.maxLine) {
        if (slow >= 0) {
          eachLine(src.toString('utf8', slow, start), cursor, take);
          slow = -1;
        }
        if (fold(src)) {
          cursor.line++;
          start = nl + 1;
          continue;
        }
      }
      if (slow < 0) slow = start;
      start = (nl >= 0 ? nl : src.indexOf(10, start)) + 1;
      if (start - slow >= PIECE) {
        eachLine(src.toString('utf8', slow, start), cursor, take);
        slow = -1;
      }
    }
    if (slow >= 0) eachLine(src.toString('utf8', slow, start), cursor, take);
    return start;
  }
}

/** A result file is a journal: a torn last line is skipped with a warning; a missing file is an error. */
export async function readResultFile(
  state: MergeState,
  path: string,
  label: string,
  warn: (message: string) => void,
  onBadLine?: (error: InputError) => void,
): Promise<void> {
  const onTornTail = (line: number) => warn(`${label}:${line}: torn last line ignored (a write cut short)`);
  try {
    await withFile(path, (read) => readResultBytes(state, read, label, { onTornTail, onBadLine }));
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT' && err.syscall === 'open')
      throw new InputError(label, undefined, 'no such file');
    throw err;
  }
}

/** Standard input is a stream, not a journal: every line must parse. */
export function readResultStream(
  state: MergeState,
  input: Readable,
  label = '<stdin>',
  onBadLine?: (error: InputError) => void,
): Promise<void> {
  return readResults(state, input, label, { onBadLine });
}
