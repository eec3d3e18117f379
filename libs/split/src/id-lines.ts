/**
 * Remembers the line where each id was first seen, in bounded memory: an id is kept as a
 * 64-bit hash in typed arrays (12 bytes a slot, about 24 MB for 1,000,000 ids) rather than
 * as a string in a Map (about 60 bytes an id). Two different ids share a hash with odds of
 * about n²/2^65 (1 in 30 million for a million ids); that would be reported as a duplicate.
 */
export function idLines(initialSlots = 1 << 12) {
  let slots = initialSlots;
  let hashA = new Int32Array(slots);
  let hashB = new Int32Array(slots);
  let lines = new Int32Array(slots);
  let size = 0;

  /** Stores the hash in the first free slot from its home (linear probing; line 0 marks free). */
  function place(a: number, b: number, line: number): void {
    let i = a & (slots - 1);
    while (lines[i] !== 0) i = (i + 1) & (slots - 1);
    hashA[i] = a;
    hashB[i] = b;
    lines[i] = line;
  }

  function grow(): void {
    const [oldA, oldB, oldLines] = [hashA, hashB, lines];
    slots *= 2;
    hashA = new Int32Array(slots);
    hashB = new Int32Array(slots);
    lines = new Int32Array(slots);
    for (let i = 0; i < oldLines.length; i++) if (oldLines[i] !== 0) place(oldA[i]!, oldB[i]!, oldLines[i]!);
  }

  return {
    /** The line where `id` was first seen, or 0 when it is new (then `line` is remembered). */
    firstLine(id: string, line: number): number {
      const [a, b] = hash64(id);
      for (let i = a & (slots - 1); lines[i] !== 0; i = (i + 1) & (slots - 1))
        if (hashA[i] === a && hashB[i] === b) return lines[i]!;
      place(a, b, Math.max(1, line));
      if (++size * 10 > slots * 7) grow();
      return 0;
    },
    get size() {
      return size;
    },
  };
}

/** Two independent 32-bit hashes of a string: FNV-1a and a murmur-style mix. */
export function hash64(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  return [a | 0, (b ^ (b >>> 16)) | 0];
}
