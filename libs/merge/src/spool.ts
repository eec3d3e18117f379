import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CapiError, ExitCode, fsReason, isErrnoException, writeError } from '@capi/core';

/**
 * Where the merge keeps each kept record's text (its report rows, rendered once when the
 * record wins) so that memory holds only numbers per id: an append-only store of entries,
 * each addressed by its byte position. The first MB stays in memory (small merges and
 * unit tests never touch the disk); past that, the bytes go to a temp file in TMPDIR that
 * is unlinked as soon as it is opened, so it disappears with the process however it ends
 * (a crash, SIGKILL) and no other user can open it by name. Reads and writes are
 * synchronous: the table's readers (`get`, `values`) stay plain iterators, and a CLI that
 * merges has nothing else to do meanwhile.
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

  constructor(private readonly memoryLimit = IN_MEMORY) {
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

  private flush(): void {
    let off = 0;
    try {
      while (off < this.used) off += writeSync(this.fd as number, this.buf, off, this.used - off, this.flushed + off);
    } catch (err) {
      throw writeError(`${tmpdir()} (capi-merge's spool file)`, err);
    }
    this.flushed += this.used;
    this.used = 0;
  }

  /** The text stored under a reference append gave. */
  read(ref: number): string {
    const b = this.bytes(ref);
    return b.toString('utf8', 0, b.length);
  }

  /**
   * The bytes stored under a reference, as a view of the spool's own buffers: valid only
   * until the next read or append. The reports copy them as they are (no decoding into a
   * string and encoding back).
   */
  bytes(ref: number): Buffer {
    const pos = (ref - 1) * 8;
    if (pos >= this.flushed) {
      const off = pos - this.flushed;
      return this.buf.subarray(off, this.buf.indexOf(END, off));
    }
    let off = pos - this.winStart;
    let end = pos >= this.winStart && off < this.winLen ? this.win.indexOf(END, off) : -1;
    if (end < 0 || end >= this.winLen) {
      this.fill(pos);
      off = 0;
      end = this.win.indexOf(END);
    }
    // Where the next entry starts when reads go in order (entries are 8-byte aligned).
    this.lastEnd = Math.ceil((pos + (end - off) + 1) / 8) * 8;
    return this.win.subarray(off, end);
  }

  /** Reads the file from pos until a whole entry is in the window. */
  private fill(pos: number): void {
    // In order, or skipping ahead a little (the failed rows, say): a big window serves the next reads too.
    let size = pos >= this.lastEnd && pos - this.lastEnd < BIG_READ && this.lastEnd >= 0 ? BIG_READ : SMALL_READ;
    for (;;) {
      const want = Math.min(size, this.flushed - pos);
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
      if (got < want || want === this.flushed - pos) throw new Error(`capi-merge spool: no entry at ${pos}`);
      size *= 2;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** An exclusive (O_EXCL, 0600) temp file, unlinked at once: only this process's descriptor reaches it. */
function openTemp(): number {
  const path = join(tmpdir(), `capi-merge-spool.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(path, 'wx+', 0o600);
  } catch (err) {
    throw writeError(`${tmpdir()} (capi-merge's spool file)`, err);
  }
  unlinkSync(path);
  return fd;
}
