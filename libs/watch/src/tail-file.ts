import { type FileHandle, open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { isErrnoException } from '@capi/core';

/**
 * Follows a growing file from the last offset read, so a journal of millions of lines is
 * read once, never again. A line without its newline yet (a write under way, or a torn
 * tail) is kept and completed by the next read.
 */
export interface FileTail {
  readonly path: string;
  /** Complete lines added since the last call (without `\n` / `\r\n`). */
  read(): Promise<string[]>;
  /** Bytes consumed so far. */
  readonly offset: number;
  /** The last read stopped at `maxReadBytes` with more to read. */
  readonly more: boolean;
  /** Closes the file; a later `read` opens it again and goes on from the same offset. */
  close(): Promise<void>;
}

export interface FileTailOptions {
  /** Start this many bytes before the end (logs: only the recent past matters). */
  fromEndBytes?: number;
  /** Longest line kept; a longer one is cut, so memory stays bounded. */
  maxLineLength?: number;
  /** Most bytes read per call, so the lines of one call stay few (call again while `more`). */
  maxReadBytes?: number;
}

const CHUNK = 256 * 1024;

/**
 * A file followed from its last offset. Just over 80 lines: `read`, `split` and `close`
 * share the open handle, the offset and the partial last line.
 */
export function tailFile(path: string, options: FileTailOptions = {}): FileTail {
  const maxLine = options.maxLineLength ?? 1024 * 1024;
  const maxRead = options.maxReadBytes ?? 4 * 1024 * 1024;
  let offset = -1;
  let pending = '';
  let decoder = new StringDecoder('utf8');
  const buf = Buffer.alloc(CHUNK);

  // Kept open between reads: a live journal is read several times a second.
  let handle: FileHandle | null = null;
  let more = false;

  async function read(): Promise<string[]> {
    if (!handle) {
      try {
        // opened, not read whole (core's readIfExists): the handle is kept to follow the file
        handle = await open(path, 'r');
      } catch (err) {
        if (isErrnoException(err) && err.code === 'ENOENT') return [];
        throw err;
      }
    }
    const fh = handle;
    const lines: string[] = [];
    try {
      const { size } = await fh.stat();
      if (offset === -1) offset = options.fromEndBytes === undefined ? 0 : Math.max(0, size - options.fromEndBytes);
      if (size < offset) {
        // Replaced or truncated (a journal cut back after a torn tail): start over.
        offset = 0;
        pending = '';
        decoder = new StringDecoder('utf8');
      }
      let budget = maxRead;
      more = false;
      while (offset < size && budget > 0) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, size - offset, budget), offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        budget -= bytesRead;
        split(decoder.write(buf.subarray(0, bytesRead)), lines);
      }
      more = offset < size;
    } catch (err) {
      await close();
      throw err;
    }
    return lines;
  }

  async function close(): Promise<void> {
    const fh = handle;
    handle = null;
    await fh?.close();
  }

  function split(text: string, out: string[]): void {
    const chunk = pending + text;
    let start = 0;
    let nl = chunk.indexOf('\n');
    while (nl !== -1) {
      const end = nl > start && chunk.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (end > start) out.push(chunk.slice(start, end));
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    const rest = chunk.slice(start);
    pending = rest.length > maxLine ? rest.slice(0, maxLine) : rest;
  }

  return {
    path,
    read,
    close,
    get more() {
      return more;
    },
    get offset() {
      return Math.max(offset, 0);
    },
  };
}
