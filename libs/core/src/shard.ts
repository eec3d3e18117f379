import { UsageError } from './errors.js';

/** FNV-1a, 32 bit: stable across machines and Node versions, so shards agree everywhere. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface Shard {
  /** 1-based, as written on the command line. */
  index: number;
  count: number;
}

export function parseShard(text: string, flag = '--shard'): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index < 1 || index > count)
    throw new UsageError(`${flag} takes K/N with 1 <= K <= N (got "${text}")`);
  return { index, count };
}

/** The same id always lands in the same shard; every id in exactly one. */
export function inShard(id: string, shard: Shard): boolean {
  return (fnv1a(id) % shard.count) + 1 === shard.index;
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}
