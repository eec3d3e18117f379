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

/**
 * What is wrong with a `--base-url` (capi-exec and capi-launch), or null. User info and a
 * query would be dropped when paths are joined to it, so they are refused with a hint
 * rather than lost silently; the message never repeats the URL (it may hold a password).
 */
export function baseUrlProblem(text: string): string | null {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `not an absolute http(s) URL: "${text.slice(0, 200)}"`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `not an http(s) URL: "${text.slice(0, 200)}"`;
  if (u.username !== '' || u.password !== '')
    return `a base URL with user info is refused, its credentials would not be sent (give them with --header 'Authorization: Basic {{env.NAME}}' instead)`;
  if (u.search !== '')
    return `a base URL with a query string is refused, it would be dropped when test paths are joined to it (put the query in the test URLs, or in a --var)`;
  return null;
}
