/**
 * Levenshtein distance between a and b; once it is clear the distance reaches `limit`, it
 * returns `limit` without finishing (the names compared are short: suite columns, flags).
 * One rule for capi-split's column typos and every tool's "did you mean" on flags.
 */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      row.push(d);
      if (d < rowMin) rowMin = d;
    }
    if (rowMin >= limit) return limit;
    prev = row;
  }
  return prev[b.length] as number;
}

/**
 * The candidate nearest to `name` within `maxDistance` edits (ties: the first), or null.
 * The default allows one edit for names up to 4 characters and two for longer ones.
 */
export function nearest(name: string, candidates: Iterable<string>, maxDistance?: number): string | null {
  const max = maxDistance ?? (name.length <= 4 ? 1 : 2);
  let best: string | null = null;
  let bestDistance = max + 1;
  for (const c of candidates) {
    const d = editDistance(name, c, bestDistance);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}
