import { closeSync, openSync, readSync, unlinkSync, write, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CapiError, ExitCode, fsReason, isErrnoException, randomHex, writeError } from '@capi/core';

/**
 * Where the merge keeps each kept record's text (its report rows, rendered once when the
 * record wins) so that memory holds only numbers per id: an append-only store of entries,
 * each addressed by its byte position. The first MB stays in memory (small merges and
 * unit tests never touch the disk); past that, the bytes go to a temp file in TMPDIR that
 * is unlinked as soon as it is opened, so it disappears with the process however it ends
 * (a crash, SIGKILL) and no other user can open it by name. Reads are synchronous: the
 * table's readers (`get`, `values`) stay plain iterators. Each full 1 MB write buffer is
 * handed to the thread pool (a positional write, so the order they finish in does not
 * matter) and a fresh one taken, so the copy into the page cache runs on the other core
 * while the merge reads on; with MAX_IN_FLIGHT buffers out, the next is written
 * synchronously (the thread pool is behind: no more memory is taken). Until its write
 * has finished, an entry is read from its buffer.
 *
 * Entries never contain the byte 0x02 (their text is JSON or cleaned CSV, where control
 * characters are escaped or removed), so 0x02 ends each one.
 */

export const END = 2;
const IN_MEMORY = 1 << 20;
const WRITE_BUFFER = 1 << 20;
/** Read window: large for reads in order or skipping a little ahead, small for a jump (one entry, most likely). */
const BIG_READ = 256 << 10;
const SMALL_READ = 4 << 10;
/**
 * How far past the last entry read a read may start and still take a big window. Further
 * ahead, the entries read are sparse (the summary reads only the failed rows, one in 50 of
 * the bench's million): a big window per skip read the whole spool file once more for a
 * few entries of each; one small read per entry copies less from the page cache. Measured
 * with strace on the bench's million with JSON and CSV: 877 MB read from a 440 MB spool
 * before, 638 MB after (the reports' pass reads it whole, in order).
 */
const NEAR = SMALL_READ;
/** Write buffers handed to the thread pool and not yet written (1 MB each): each is that much more peak RSS (4 measured 8 MB more than none). */
const MAX_IN_FLIGHT = 1;

/** A buffer being written at file position `start`. */
interface InFlight {
  start: number;
  end: number;
  buf: Buffer;
}

export class Spool {
  private buf: Buffer;
  private used = 0;
  /** Bytes already in the file; positions below this are read from it. */
  private flushed = 0;
  private fd: number | null = null;
  private win = Buffer.allocUnsafe(0);
  private winStart = 0;
  private winLen = 0;
  private lastEnd = -1;
  private readonly inFlight: InFlight[] = [];
  /** Write buffers back from the thread pool, for the next flushes. */
  private readonly spare: Buffer[] = [];
  /** The first failed background write: every later append or read from the file throws it. */
  private failed: unknown = null;
  private closing = false;

  /**
   * `writeAsync` is fs.write; tests give one that holds writes back or fails them, to see
   * reads of entries still being written and a failed write.
   */
  constructor(
    private readonly memoryLimit = IN_MEMORY,
    private readonly writeAsync: typeof write = write,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(64 << 10, memoryLimit));
  }

  /** Bytes written so far (for tests and the docs' numbers). */
  get size(): number {
    return this.flushed + this.used;
  }

  /** Whether the entries went to the temp file. */
  get onDisk(): boolean {
    return this.fd !== null;
  }

  /**
   * Stores text (no 0x02 in it) and returns its reference: entries start on 8-byte
   * boundaries, so a 32-bit reference (position / 8, plus 1: 0 is none) reaches 32 GB.
   */
  append(text: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit, plus the end byte and the padding.
    const need = text.length * 3 + 8;
    if (this.used + need > this.buf.length) this.makeRoom(need);
    this.used += (8 - ((this.flushed + this.used) % 8)) % 8;
    const pos = this.flushed + this.used;
    if (pos / 8 >= 0xffffffff) throw new CapiError('the merged report text is over 32 GB', ExitCode.cannotRun);
    this.used += this.buf.write(text, this.used);
    this.buf[this.used++] = END;
    return pos / 8 + 1;
  }

  /**
   * append for an entry written as bytes: room for up to `need` bytes (no 0x02 among
   * them) at `entryBuffer()` from the returned offset; `endEntry` with the offset after
   * the last byte written stores it and gives its reference. Nothing else may touch the
   * spool in between.
   */
  beginEntry(need: number): number {
    if (this.used + need + 8 > this.buf.length) this.makeRoom(need + 8);
    this.used += (8 - ((this.flushed + this.used) % 8)) % 8;
    if ((this.flushed + this.used) / 8 >= 0xffffffff)
      throw new CapiError('the merged report text is over 32 GB', ExitCode.cannotRun);
    return this.used;
  }

  /** The buffer beginEntry made room in. */
  entryBuffer(): Buffer {
    return this.buf;
  }

  endEntry(end: number): number {
    const pos = this.flushed + this.used;
    this.buf[end] = END;
    this.used = end + 1;
    return pos / 8 + 1;
  }

  private makeRoom(need: number): void {
    if (this.fd === null && this.used + need <= this.memoryLimit) {
      const bigger = Buffer.allocUnsafe(Math.min(this.memoryLimit, Math.max(2 * this.buf.length, this.used + need)));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
      return;
    }
    if (this.fd === null) this.fd = openTemp();
    this.flush();
    if (this.buf.length !== WRITE_BUFFER || need > this.buf.length)
      this.buf = Buffer.allocUnsafe(Math.max(WRITE_BUFFER, need));
  }

  /** Hands the write buffer's bytes to the thread pool (or writes them here when it is behind); takes another buffer. */
  private flush(): void {
    this.throwIfFailed();
    if (this.used === 0) return;
    const start = this.flushed;
    if (this.inFlight.length >= MAX_IN_FLIGHT) {
      let off = 0;
      try {
        while (off < this.used) off += writeSync(this.fd as number, this.buf, off, this.used - off, start + off);
      } catch (err) {
        throw spoolWriteError(err);
      }
    } else {
      const job: InFlight = { start, end: start + this.used, buf: this.buf };
      this.inFlight.push(job);
      this.writeRest(job, 0);
      this.buf = (this.buf.length === WRITE_BUFFER ? this.spare.pop() : undefined) ?? Buffer.allocUnsafe(WRITE_BUFFER);
    }
    this.flushed += this.used;
    this.used = 0;
  }

  /** Writes job's bytes from `off` in the thread pool; a short write goes on from where it stopped. */
  private writeRest(job: InFlight, off: number): void {
    const len = job.end - job.start;
    this.writeAsync(this.fd as number, job.buf, off, len - off, job.start + off, (err, n) => {
      if (!err && n > 0 && off + n < len) return this.writeRest(job, off + n);
      const failure = err ?? (off + n < len ? new Error('the spool file took no more bytes') : null);
      if (failure && this.failed === null) this.failed = failure;
      this.inFlight.splice(this.inFlight.indexOf(job), 1);
      if (job.buf.length === WRITE_BUFFER && this.spare.length < MAX_IN_FLIGHT) this.spare.push(job.buf);
      // closed while this was being written: the descriptor is closed once nothing writes to it
      if (this.closing && this.inFlight.length === 0) this.closeNow();
    });
  }

  private throwIfFailed(): void {
    if (this.failed !== null) throw spoolWriteError(this.failed);
  }

  /** The text stored under a reference append gave. */
  read(ref: number): string {
    const b = this.bytes(ref);
    return b.toString('utf8', 0, b.length);
  }

  /** Where the entry locate found starts and ends in the buffer it returned. */
  at = 0;
  end = 0;

  /**
   * The bytes stored under a reference, as a view of the spool's own buffers: valid only
   * until the next read or append. The reports copy them as they are (no decoding into a
   * string and encoding back).
   */
  bytes(ref: number): Buffer {
    const b = this.locate(ref);
    return b.subarray(this.at, this.end);
  }

  /**
   * bytes without making a view (the reports take a million rows each): the buffer that
   * holds the entry, which is that buffer from `at` to `end`, until the next read or append.
   */
  locate(ref: number): Buffer {
    const pos = (ref - 1) * 8;
    if (pos >= this.flushed) {
      const off = pos - this.flushed;
      this.at = off;
      this.end = this.buf.indexOf(END, off);
      return this.buf;
    }
    for (const job of this.inFlight)
      if (pos >= job.start && pos < job.end) {
        // still being written: from its buffer (an entry never spans two)
        const at = pos - job.start;
        this.at = at;
        this.end = job.buf.indexOf(END, at);
        return job.buf;
      }
    this.throwIfFailed();
    let off = pos - this.winStart;
    let end = pos >= this.winStart && off < this.winLen ? this.win.indexOf(END, off) : -1;
    if (end < 0 || end >= this.winLen) {
      this.fill(pos);
      off = 0;
      end = this.win.indexOf(END);
    }
    // Where the next entry starts when reads go in order (entries are 8-byte aligned).
    this.lastEnd = Math.ceil((pos + (end - off) + 1) / 8) * 8;
    this.at = off;
    this.end = end;
    return this.win;
  }

  /** Reads the file from pos until a whole entry is in the window. */
  private fill(pos: number): void {
    // In order, or skipping ahead a little (dense failed rows, say): a big window serves the next reads too.
    let size = pos >= this.lastEnd && pos - this.lastEnd < NEAR && this.lastEnd >= 0 ? BIG_READ : SMALL_READ;
    // Never past the start of a buffer still being written: the file has not got its bytes yet.
    let limit = this.flushed;
    for (const job of this.inFlight) if (job.start > pos && job.start < limit) limit = job.start;
    for (;;) {
      const want = Math.min(size, limit - pos);
      if (this.win.length < want) this.win = Buffer.allocUnsafe(Math.max(want, BIG_READ));
      let got = 0;
      while (got < want) {
        let n: number;
        try {
          n = readSync(this.fd as number, this.win, got, want - got, pos + got);
        } catch (err) {
          const reason = isErrnoException(err) ? fsReason(err.code) : String(err);
          throw new CapiError(`cannot read ${tmpdir()} (capi-merge's spool file): ${reason}`, ExitCode.cannotRun);
        }
        if (n === 0) break;
        got += n;
      }
      this.winStart = pos;
      this.winLen = got;
      const end = this.win.indexOf(END);
      if (end >= 0 && end < got) return;
      if (got < want || want === limit - pos) throw new Error(`capi-merge spool: no entry at ${pos}`);
      size *= 2;
    }
  }

  /**
   * Closes the temp file once no write to it is pending: a descriptor closed under a
   * pending write could be reused by a file opened meanwhile, which the write would hit.
   */
  close(): void {
    this.closing = true;
    if (this.inFlight.length === 0) this.closeNow();
  }

  private closeNow(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** Resolves when every background write has finished, rejects if one failed (tests; reads never need it). */
  async settled(): Promise<void> {
    while (this.inFlight.length > 0) await new Promise((r) => setImmediate(r));
    this.throwIfFailed();
  }
}

function spoolWriteError(err: unknown) {
  return writeError(`${tmpdir()} (capi-merge's spool file)`, err);
}

/** An exclusive (O_EXCL, 0600) temp file, unlinked at once: only this process's descriptor reaches it. */
function openTemp(): number {
  const path = join(tmpdir(), `capi-merge-spool.tmp-${process.pid}-${randomHex(6)}`);
  let fd: number;
  try {
    fd = openSync(path, 'wx+', 0o600);
  } catch (err) {
    throw writeError(`${tmpdir()} (capi-merge's spool file)`, err);
  }
  unlinkSync(path);
  return fd;
}
