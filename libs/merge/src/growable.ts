/**
 * Typed arrays that grow in place. A column of a million rows grown by copying into one
 * twice as large leaves the old one to the garbage collector, and the allocator keeps the
 * freed blocks: measured, some 25-40 MB of the merge's peak RSS at a million ids was such
 * leftovers. An array on a resizable ArrayBuffer reserves address space only; `resize`
 * commits pages as the array grows, with no copy and nothing left behind. Where a
 * resizable buffer cannot be had (an address-space limit, a runtime without them), or
 * past its reserve, the array grows by copying as before.
 */

export type Growable = Float64Array | Uint32Array | Uint16Array | Uint8Array | Int32Array;

type Ctor<T extends Growable> = { new (buffer: ArrayBuffer): T; new (length: number): T; BYTES_PER_ELEMENT: number };

/** Address space reserved per array: 128 M rows of 8 bytes. */
const RESERVE = 1 << 30;

interface Resizable {
  resizable?: boolean;
  maxByteLength?: number;
  resize?(bytes: number): void;
}

/** An array of length elements (zeros) that `ensure` can grow. */
export function growable<T extends Growable>(ctor: Ctor<T>, length: number): T {
  try {
    const Buf = ArrayBuffer as unknown as new (bytes: number, opts: { maxByteLength: number }) => ArrayBuffer;
    return new ctor(new Buf(length * ctor.BYTES_PER_ELEMENT, { maxByteLength: RESERVE }));
  } catch {
    return new ctor(length);
  }
}

/** The array, with room for at least `length` elements (doubling); the same array when it grew in place. */
export function ensure<T extends Growable>(a: T, length: number): T {
  if (a.length >= length) return a;
  let size = Math.max(a.length, 1024);
  while (size < length) size *= 2;
  const ctor = a.constructor as Ctor<T>;
  const buffer = a.buffer as ArrayBuffer & Resizable;
  const bytes = size * ctor.BYTES_PER_ELEMENT;
  if (buffer.resizable && bytes <= (buffer.maxByteLength as number)) {
    try {
      (buffer.resize as (n: number) => void)(bytes);
      return a;
    } catch {
      // out of memory for the pages: fall through to a copy, which reports it plainly
    }
  }
  const next = new ctor(size);
  next.set(a);
  return next;
}

/** A copy of a as a wider type (a code column outgrowing 8 or 16 bits), growable too. */
export function widen<T extends Growable>(a: Growable, ctor: Ctor<T>): T {
  const next = growable(ctor, a.length);
  next.set(a);
  return next;
}
