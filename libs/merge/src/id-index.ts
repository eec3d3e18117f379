import { ensure, growable } from './growable.js';

/**
 * Test id → row, and the ids themselves. The ids are kept as bytes: an ASCII id (nearly
 * all of them) is its characters, one byte each, in one growing buffer, with the start of
 * each row's id in a typed array: about 12 bytes for an 8-character id instead of a
 * string object and an array slot (~40). An id with any other character is kept as its
 * string in a side map (exact, lone surrogates included); its bytes are empty, which
 * marks it. The index is an open-addressing hash table: row + 1 per slot in an
 * Int32Array, and 8 more bits of the hash per slot in a Uint8Array, compared before any
 * bytes (a probe that is not the id stops there 255 times in 256): 5 bytes a slot,
 * nothing for the garbage collector to trace. Rows are added in order 0, 1, 2, …
 */
export class IdIndex {
  private slots = growable(Int32Array, 2048);
  private tags = growable(Uint8Array, 2048);
  private mask = 2047;
  private count = 0;
  private bytes = growable(Uint8Array, 64 << 10);
  private used = 0;
  /** Where each row's id starts in `bytes`; it ends where the next one starts. */
  private starts = growable(Uint32Array, 1024);
  /**
   * Each row's hash: growing the slots places every row again, and hashing every id's
   * bytes again on each doubling was about 4% of a million-id merge (profiled).
   */
  private hashes = growable(Uint32Array, 1024);
  private readonly wide = new Map<number, string>();
  // The id last looked up and not found, with its hash and free slot: insert() follows it.
  private missId: string | null = null;
  private missHash = 0;
  private missSlot = 0;

  /** How many ids there are (rows 0 … size - 1). */
  get size(): number {
    return this.count;
  }

  /** The row of id, or -1. */
  find(id: string): number {
    const h = hashOf(id);
    const slots = this.slots;
    const tags = this.tags;
    const tag = h >>> 24;
    const mask = this.mask;
    let s = h & mask;
    for (;;) {
      const row = (slots[s] as number) - 1;
      if (row < 0) break;
      if (tags[s] === tag && this.matches(row, id)) return row;
      s = (s + 1) & mask;
    }
    this.missId = id;
    this.missBytes = false;
    this.missHash = h;
    this.missSlot = s;
    return -1;
  }

  private matches(row: number, id: string): boolean {
    const start = this.starts[row] as number;
    const len = this.endOf(row) - start;
    if (len === 0) return this.wide.get(row) === id;
    if (len !== id.length) return false;
    const bytes = this.bytes;
    // A character above 127 never equals a stored (ASCII) byte.
    for (let k = 0; k < len; k++) if (bytes[start + k] !== id.charCodeAt(k)) return false;
    return true;
  }

  private endOf(row: number): number {
    return row + 1 < this.count ? (this.starts[row + 1] as number) : this.used;
  }

  /** The id of a row. */
  idOf(row: number): string {
    const start = this.starts[row] as number;
    const end = this.endOf(row);
    if (end === start) return this.wide.get(row) as string;
    // ASCII bytes, one character each (a spread of the typed array was ten times slower).
    let id = '';
    for (let k = start; k < end; k++) id += String.fromCharCode(this.bytes[k] as number);
    return id;
  }

  /**
   * find for an id given as its bytes src[s, e), every byte under 128 (the id's characters,
   * one each): the same hash and slots as the id's string, without making it.
   */
  findBytes(src: Uint8Array, s: number, e: number): number {
    let h = 0x811c9dc5;
    for (let k = s; k < e; k++) h = Math.imul(h ^ (src[k] as number), 0x01000193);
    h = mix(h);
    const slots = this.slots;
    const tags = this.tags;
    const tag = h >>> 24;
    const mask = this.mask;
    const len = e - s;
    let slot = h & mask;
    for (;;) {
      const row = (slots[slot] as number) - 1;
      if (row < 0) break;
      if (tags[slot] === tag) {
        const start = this.starts[row] as number;
        if (this.endOf(row) - start === len) {
          const bytes = this.bytes;
          let k = 0;
          while (k < len && bytes[start + k] === src[s + k]) k++;
          if (k === len) return row;
        }
      }
      slot = (slot + 1) & mask;
    }
    this.missId = null;
    this.missBytes = true;
    this.missHash = h;
    this.missSlot = slot;
    return -1;
  }

  // findBytes's miss: insertBytes follows it.
  private missBytes = false;

  /** insert for an ASCII id given as its bytes (findBytes just missed it). */
  insertBytes(src: Uint8Array, s: number, e: number): number {
    if (2 * (this.count + 1) > this.mask + 1) this.grow();
    if (!this.missBytes) this.findBytes(src, s, e);
    this.missBytes = false;
    const row = this.count;
    const len = e - s;
    this.starts = ensure(this.starts, row + 1);
    this.starts[row] = this.used;
    if (this.used + len > 0xffffffff) throw new Error('capi-merge: more than 4 GB of test ids');
    const bytes = ensure(this.bytes, this.used + len);
    for (let k = 0; k < len; k++) bytes[this.used + k] = src[s + k] as number;
    this.bytes = bytes;
    this.used += len;
    this.keep(row);
    return row;
  }

  /** Records a new id (not already present) as the next row; returns that row. */
  insert(id: string): number {
    if (2 * (this.count + 1) > this.mask + 1) this.grow();
    if (id !== this.missId) this.find(id);
    this.missId = null;
    this.missBytes = false;
    const row = this.count;
    this.store(row, id);
    this.keep(row);
    return row;
  }

  /** Puts the row just stored in the free slot the last find missed at, with its hash. */
  private keep(row: number): void {
    this.hashes = ensure(this.hashes, row + 1);
    this.hashes[row] = this.missHash;
    this.slots[this.missSlot] = row + 1;
    this.tags[this.missSlot] = this.missHash >>> 24;
    this.count++;
  }

  private store(row: number, id: string): void {
    this.starts = ensure(this.starts, row + 1);
    this.starts[row] = this.used;
    let ascii = id.length > 0;
    for (let k = 0; k < id.length && ascii; k++) ascii = id.charCodeAt(k) < 128;
    if (!ascii) {
      this.wide.set(row, id);
      return;
    }
    // The starts are 32-bit: 4 GB of ids is far beyond any memory this merge would fit in.
    if (this.used + id.length > 0xffffffff) throw new Error('capi-merge: more than 4 GB of test ids');
    const bytes = ensure(this.bytes, this.used + id.length);
    for (let k = 0; k < id.length; k++) bytes[this.used + k] = id.charCodeAt(k);
    this.bytes = bytes;
    this.used += id.length;
  }

  /**
   * Twice the slots, grown in place (growable.ts) and filled again: each row's slot is
   * found anew from its kept hash, so the old table is not needed.
   */
  private grow(): void {
    const size = 2 * (this.mask + 1);
    const slots = ensure(this.slots, size);
    const tags = ensure(this.tags, size);
    slots.fill(0);
    tags.fill(0);
    const mask = size - 1;
    const hashes = this.hashes;
    for (let row = 0; row < this.count; row++) {
      const h = hashes[row] as number;
      let s = h & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = row + 1;
      tags[s] = h >>> 24;
    }
    this.slots = slots;
    this.tags = tags;
    this.mask = mask;
    // A free slot found before growing is no longer valid.
    this.missId = null;
    this.missBytes = false;
  }
}

/** FNV-1a over the UTF-16 code units, then murmur3's finalizer so the low bits mix well. */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix(h);
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
