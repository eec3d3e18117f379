const ABSOLUTE = /^https?:\/\//i;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** WHATWG URL parsing drops leading and trailing C0 controls and spaces. */
export const trimUrl = (url: string) => url.replace(/^[\0-\x20]+|[\0-\x20]+$/g, '');

/**
 * Whether a test's URL is a path that only a base URL can complete (`/items/1`,
 * `items/1`). Another scheme (`ftp:`) is not: it is a bad URL whatever the base. Used by
 * capi-exec on the expanded URL and by capi-launch before a run starts.
 */
export function isRelativeUrl(url: string): boolean {
  const text = trimUrl(url);
  return !ABSOLUTE.test(text) && !SCHEME.test(text);
}
