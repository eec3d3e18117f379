import { isUtf8 } from 'node:buffer';
import { InputError } from './errors.js';

/**
 * Passes byte chunks on once they are known to be UTF-8, without a leading BOM. A
 * character cut in two by a chunk boundary is carried into the next chunk. Lines are
 * counted so that a bad byte is reported on its own line.
 */
export async function* utf8Chunks(
  input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  source: string,
): AsyncGenerator<Buffer> {
  let carry: Buffer = Buffer.alloc(0);
  let linesBefore = 0;
  let first = true;
  for await (const raw of input) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (carry.length > 0) chunk = Buffer.concat([carry, chunk]);
    if (first) {
      if (chunk.length < 3 && isBomPrefix(chunk)) {
        carry = chunk;
        continue;
      }
      first = false;
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
    }
    const cut = incompleteTail(chunk);
    carry = Buffer.from(chunk.subarray(cut));
    const whole = chunk.subarray(0, cut);
    if (!isUtf8(whole)) throw badByte(whole, linesBefore, source);
    linesBefore += countNewlines(whole);
    yield* pieces(whole);
  }
  if (carry.length > 0 && !(first && isBomPrefix(carry))) {
    if (!isUtf8(carry)) throw badByte(carry, linesBefore, source);
    yield carry;
  }
}

/**
 * Chunks go on in pieces of at most PIECE bytes, each cut at the start of a character.
 * The parser turns a whole chunk into records at once, and they all stay alive until the
 * chunk's last one is written: with 64 KiB chunks (a file read, a pipe) some 2,500
 * records were alive at each scavenge, were promoted, and the old space of capi-split
 * --out grew to 120 MB of garbage between full GCs (peak RSS 150-207 MB over 1M rows,
 * against 125-140 MB with 16 KiB pieces; --trace-gc: old space 10 MB instead of 100).
 */
const PIECE = 16 * 1024;

function* pieces(bytes: Buffer): Generator<Buffer> {
  let at = 0;
  while (bytes.length - at > PIECE) {
    let end = at + PIECE;
    while (end > at + 1 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
    yield bytes.subarray(at, end);
    at = end;
  }
  if (bytes.length > at) yield bytes.subarray(at);
}

function isBomPrefix(chunk: Buffer): boolean {
  const bom = [0xef, 0xbb, 0xbf];
  for (let i = 0; i < chunk.length; i++) if (chunk[i] !== bom[i]) return false;
  return true;
}

/** Where a multi-byte character that is still incomplete at the end of `chunk` starts. */
function incompleteTail(chunk: Buffer): number {
  const len = chunk.length;
  for (let back = 1; back <= Math.min(3, len); back++) {
    const byte = chunk[len - back] as number;
    if ((byte & 0xc0) === 0x80) continue;
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? len - back : len;
  }
  return len;
}

export function countNewlines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

/** Finds the first byte that breaks UTF-8 (only on the error path, so a plain loop will do). */
function badByte(bytes: Buffer, linesBefore: number, source: string): InputError {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    const need = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (need === 0 || i + need > bytes.length || !isUtf8(bytes.subarray(i, i + need))) break;
    i += need;
  }
  const line = linesBefore + countNewlines(bytes.subarray(0, i)) + 1;
  const hex = (bytes[i] ?? 0).toString(16).padStart(2, '0');
  return new InputError(source, line, `not UTF-8: invalid byte 0x${hex} (save the file as UTF-8)`);
}
