/**
 * The k-th smallest (0-based) of the values whose `include` byte is 1, without copying or
 * sorting them: a radix select over the numbers' bits, 16 bits a pass, four passes over
 * the column. The summary's exact percentiles of a million latencies took a sorted copy
 * of them (8 MB); this takes a 256 KB count table per rank. Values order as
 * Float64Array.sort does (-0 before 0); NaN is never a latency (JSON has none).
 *
 * Several ranks are found in the same four passes (`selectRanks`): the summary asks for
 * five percentiles, and one select per rank walked the million-row column 20 times
 * (0.37 s of a 12 s profiled merge; four walks now).
 */

/** Which 32-bit word of a float64 holds its sign and exponent on this machine. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

export function selectKth(values: Float64Array, include: Uint8Array, size: number, k: number): number {
  return selectRanks(values, include, size, [k])[0] as number;
}

/** One rank's search: the key's bits found so far (the high word, then the low word) and what is left of k. */
interface Search {
  keyHi: number;
  keyLo: number;
  rest: number;
  counts: Uint32Array;
}

/**
 * Up to this many values, a sorted copy: the radix select's fixed cost (a 256 KB count
 * table per rank, each walked once a pass: some 20 ms cold in a merge of 8,000 tests,
 * after the last test of a launched run) is more than sorting them.
 */
export const SORT_BELOW = 16_384;

/** The values at each rank of `ks` (as selectKth gives them), in the same order. */
export function selectRanks(
  values: Float64Array,
  include: Uint8Array,
  size: number,
  ks: number[],
  sortBelow = SORT_BELOW,
): number[] {
  if (size <= sortBelow) {
    let n = 0;
    for (let i = 0; i < size; i++) if (include[i] === 1) n++;
    const kept = new Float64Array(n);
    n = 0;
    for (let i = 0; i < size; i++) if (include[i] === 1) kept[n++] = values[i] as number;
    // Float64Array's sort orders as the radix select does: numerically, -0 before 0
    kept.sort();
    return ks.map((k) => kept[k] as number);
  }
  const words = new Uint32Array(values.buffer, values.byteOffset, size * 2);
  const distinct = [...new Set(ks)];
  const searches: Search[] = distinct.map((k) => ({ keyHi: 0, keyLo: 0, rest: k, counts: new Uint32Array(0) }));
  // Pass 0 (the top 16 bits) counts the same for every rank: one table.
  const top = new Uint32Array(65536);
  for (let i = 0; i < size; i++) {
    if (include[i] !== 1) continue;
    const digit = sortableHi(words[2 * i + HI] as number) >>> 16;
    top[digit] = (top[digit] as number) + 1;
  }
  for (const s of searches) s.keyHi = pick(s, top) << 16;
  for (const s of searches) s.counts = new Uint32Array(65536);
  for (let pass = 1; pass < 4; pass++) {
    for (const s of searches) s.counts.fill(0);
    for (let i = 0; i < size; i++) {
      if (include[i] !== 1) continue;
      const hi = words[2 * i + HI] as number;
      const kh = sortableHi(hi);
      const kl = hi >>> 31 === 1 ? ~(words[2 * i + LO] as number) >>> 0 : (words[2 * i + LO] as number);
      for (let j = 0; j < searches.length; j++) {
        const s = searches[j] as Search;
        let digit: number;
        if (pass === 1) {
          if (kh >>> 16 !== s.keyHi >>> 16) continue;
          digit = kh & 0xffff;
        } else if (pass === 2) {
          if (kh !== s.keyHi) continue;
          digit = kl >>> 16;
        } else {
          if (kh !== s.keyHi || kl >>> 16 !== s.keyLo >>> 16) continue;
          digit = kl & 0xffff;
        }
        s.counts[digit] = (s.counts[digit] as number) + 1;
      }
    }
    for (const s of searches) {
      const b = pick(s, s.counts);
      if (pass === 1) s.keyHi = (s.keyHi | b) >>> 0;
      else if (pass === 2) s.keyLo = b << 16;
      else s.keyLo = (s.keyLo | b) >>> 0;
    }
  }
  const found = new Map(distinct.map((k, j) => [k, keyValue(searches[j] as Search)]));
  return ks.map((k) => found.get(k) as number);
}

/** The high word made sortable as an unsigned integer: positive numbers with the sign bit set, negative ones inverted. */
function sortableHi(hi: number): number {
  return hi >>> 31 === 1 ? ~hi >>> 0 : (hi | 0x80000000) >>> 0;
}

/** The bucket that holds the search's rank; what comes before it is taken off `rest`. */
function pick(s: Search, counts: Uint32Array): number {
  let b = 0;
  while (b < 65535 && s.rest >= (counts[b] as number)) {
    s.rest -= counts[b] as number;
    b++;
  }
  return b;
}

function keyValue(s: Search): number {
  const out = new Float64Array(1);
  const outWords = new Uint32Array(out.buffer);
  const positive = s.keyHi >>> 31 === 1;
  outWords[HI] = positive ? (s.keyHi & 0x7fffffff) >>> 0 : ~s.keyHi >>> 0;
  outWords[LO] = positive ? s.keyLo >>> 0 : ~s.keyLo >>> 0;
  return out[0] as number;
}
