/**
 * Batch names, tag lists, run ids and shards repeat across millions of records: each
 * distinct value is stored once and the merged tests keep its small number (code) in a
 * typed array, so memory (and garbage-collection time) grows with ids only, and the
 * summary can count per batch and per tag list by code instead of by string.
 * Code 0 is "none" (null, or no tags).
 */
export class StringPool {
  private readonly codes = new Map<string, number>();
  readonly values: Array<string | null> = [null];
  // The value seen last: neighbouring records mostly repeat it, and comparing two short
  // strings is cheaper than a map lookup.
  private last: string | null = null;
  private lastCode = 0;

  code(v: string | null | undefined): number {
    if (typeof v !== 'string') return 0;
    if (v === this.last) return this.lastCode;
    let code = this.codes.get(v);
    if (code === undefined) {
      code = this.values.length;
      this.values.push(v);
      this.codes.set(v, code);
    }
    this.last = v;
    this.lastCode = code;
    return code;
  }
}

export const NO_TAGS: string[] = [];

function sameList(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const RECENT = 8;

/** Tag lists by code; equal lists share one code (and one array). */
export class TagPool {
  private readonly codes = new Map<string, number>();
  readonly values: string[][] = [NO_TAGS];
  // The codes of the lists seen last: a suite has a few tag lists that neighbouring
  // records mix, and comparing short lists is cheaper than joining one into a map key.
  private readonly recent = new Int32Array(RECENT);
  private next = 0;

  code(list: string[] | null | undefined): number {
    if (!list || list.length === 0) return 0;
    for (let r = 0; r < RECENT; r++) {
      const c = this.recent[r] as number;
      if (c !== 0 && sameList(list, this.values[c] as string[])) return c;
    }
    const key = list.length === 1 ? (list[0] as string) : list.join('\u0000');
    let code = this.codes.get(key);
    if (code === undefined) {
      code = this.values.length;
      this.values.push(list);
      this.codes.set(key, code);
    }
    this.recent[this.next] = code;
    this.next = (this.next + 1) % RECENT;
    return code;
  }
}
