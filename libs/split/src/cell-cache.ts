/**
 * Remembers what a cell parsed to, by its text: suites repeat the same headers, status,
 * tags and methods row after row, and parsing them once keeps capi-split near the speed of
 * csv-parse itself. Bounded: when full it starts over, so memory stays flat.
 */
export function cellCache<T>(parse: (text: string) => T, limit = 512): (text: string) => T {
  let cache = new Map<string, T>();
  return (text) => {
    let value = cache.get(text);
    if (value === undefined) {
      value = parse(text);
      if (cache.size >= limit) cache = new Map();
      cache.set(text, value);
    }
    return value;
  };
}
