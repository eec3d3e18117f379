/**
 * Test id → row, as an open-addressing hash table in one Int32Array of (hash, row + 1)
 * pairs. A Map of a million string keys cost about a microsecond per lookup (its chains
 * touch several scattered key strings) and 30-40 MB; here a new id costs one probe into
 * a typed array the garbage collector never traces, and the full hash is compared before
 * any string. The ids themselves stay in the table's `ids` column.
 */
export class IdIndex {
  private slots = new Int32Array(2 * 2048);
  private mask = 2047;
  private count = 0;
  // The id last looked up and not found, with its hash and free slot: add() follows it.
  private missId: string | null = null;
  private missHash = 0;
  private missSlot = 0;

  constructor(private readonly ids: readonly string[]) {}

  /** The row of id, or -1. */
  find(id: string): number {
    const h = hashOf(id);
    const slots = this.slots;
    const mask = this.mask;
    let s = h & mask;
    for (;;) {
      const row = (slots[2 * s + 1] as number) - 1;
      if (row < 0) break;
      if (slots[2 * s] === h && this.ids[row] === id) return row;
      s = (s + 1) & mask;
    }
    this.missId = id;
    this.missHash = h;
    this.missSlot = s;
    return -1;
  }

  /** Records a new id (not already present) at row. */
  insert(id: string, row: number): void {
    if (2 * (this.count + 1) > this.mask + 1) this.grow();
    if (id !== this.missId) this.find(id);
    this.missId = null;
    this.slots[2 * this.missSlot] = this.missHash;
    this.slots[2 * this.missSlot + 1] = row + 1;
    this.count++;
  }

  private grow(): void {
    const old = this.slots;
    const size = 2 * (this.mask + 1);
    const slots = new Int32Array(2 * size);
    const mask = size - 1;
    for (let k = 0; k < old.length; k += 2) {
      const row = old[k + 1] as number;
      if (row === 0) continue;
      const h = old[k] as number;
      let s = h & mask;
      while (slots[2 * s + 1] !== 0) s = (s + 1) & mask;
      slots[2 * s] = h;
      slots[2 * s + 1] = row;
    }
    this.slots = slots;
    this.mask = mask;
    // A free slot found before growing is no longer valid.
    this.missId = null;
  }
}

/** FNV-1a over the UTF-16 code units, then murmur3's finalizer so the low bits mix well. */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
