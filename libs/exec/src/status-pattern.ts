/**
 * Status patterns: `200`, `2xx`, `200,201,204` and mixes like `2xx,404`. Parsed once per
 * distinct pattern: a suite has few.
 */
export type StatusMatcher = (status: number) => boolean;

const cache = new Map<string, StatusMatcher | string>();

function compile(pattern: string): StatusMatcher | string {
  const parts = pattern.split(',').map((p) => p.trim().toLowerCase());
  const exact = new Set<number>();
  const classes = new Set<number>();
  for (const part of parts) {
    if (/^[1-5]\d\d$/.test(part)) exact.add(Number(part));
    else if (/^[1-5]xx$/.test(part)) classes.add(Number(part[0]));
    else return `bad status pattern "${pattern}": "${part}" is not like 200 or 2xx`;
  }
  return (status) => exact.has(status) || classes.has(Math.floor(status / 100));
}

/** A matcher, or a message saying what is wrong with the pattern. */
export function statusMatcher(pattern: string): StatusMatcher | string {
  let m = cache.get(pattern);
  if (m === undefined) {
    m = compile(pattern);
    if (cache.size < 1000) cache.set(pattern, m);
  }
  return m;
}
