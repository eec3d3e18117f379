/**
 * Batch names, tag lists, run ids and shards repeat across millions of records: one shared
 * copy of each keeps memory (and garbage-collection time) growing with ids only. One
 * interner per merge, so nothing outlives it.
 */
export interface Interner {
  string(v: string, field: 'batch' | 'runId' | 'shard'): string;
  tags(list: string[]): string[];
}

const LIMIT = 100_000;
export const NO_TAGS: string[] = [];

function sameList(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function createInterner(): Interner {
  const strings = new Map<string, string>();
  const tagLists = new Map<string, string[]>();
  // Per field, the value seen last: neighbouring records mostly repeat it, and comparing
  // two short strings is cheaper than a map lookup.
  const last = { batch: '', runId: '', shard: '' };
  let lastTags: string[] = NO_TAGS;
  return {
    string(v, field) {
      if (v === last[field]) return last[field];
      let known = strings.get(v);
      if (known === undefined) {
        known = v;
        if (strings.size < LIMIT) strings.set(v, v);
      }
      last[field] = known;
      return known;
    },
    tags(list) {
      if (list.length === 0) return NO_TAGS;
      if (sameList(list, lastTags)) return lastTags;
      const key = list.length === 1 ? (list[0] as string) : list.join('\u0000');
      let known = tagLists.get(key);
      if (!known) {
        known = list;
        if (tagLists.size < LIMIT) tagLists.set(key, list);
      }
      lastTags = known;
      return known;
    },
  };
}
