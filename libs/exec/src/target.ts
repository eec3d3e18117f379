import { baseUrlProblem, trimUrl } from '@capi/core';

/**
 * Where a test's request goes. A path is joined to the base URL (`--base-url` or
 * CAPI_BASE_URL) without parsing it again per test; an absolute URL is parsed.
 */
export interface Target {
  origin: string;
  path: string;
}

export interface BaseUrl {
  origin: string;
  /** The base's path without a trailing slash: `/api` or ``. */
  prefix: string;
}

export class BadUrl extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadUrl';
  }
}

export function parseBaseUrl(text: string): BaseUrl {
  const problem = baseUrlProblem(text);
  if (problem) throw new BadUrl(problem);
  const u = new URL(text);
  return { origin: u.origin, prefix: u.pathname.replace(/\/+$/, '') };
}

const ABSOLUTE = /^https?:\/\//i;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

// What WHATWG URL parsing percent-encodes (special schemes): in the path the C0 controls,
// space, " < > ` { } and everything from DEL up; in the query the C0 controls, space,
// " ' < > and everything from DEL up. Reserved characters and %-escapes stay as written.
const NEEDS_WORK = /[\0-\x20"#'<>`{}\x7f-\uffff]/;
const PATH_UNSAFE = /[\0-\x20"<>`{}\x7f-\u{10ffff}]/gu;
const QUERY_UNSAFE = /[\0-\x20"'<>\x7f-\u{10ffff}]/gu;

/** UTF-8 bytes as %XX; a lone surrogate becomes U+FFFD, as in WHATWG. */
function percent(ch: string): string {
  let out = '';
  for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`;
  return out;
}

/**
 * A relative reference (`/items/{{q}}` expanded) made into a request target the way a
 * WHATWG URL parser would (what `new URL()`, browsers, Postman do for an absolute URL):
 * tabs and newlines removed, the fragment dropped (it is never sent), then the characters
 * that are never valid there percent-encoded as UTF-8. `/search?q=a b&c=%2F` becomes
 * `/search?q=a%20b&c=%2F`. Dot segments and backslashes are left as written.
 */
export function encodeTarget(ref: string): string {
  if (!NEEDS_WORK.test(ref)) return ref;
  let s = ref.replace(/[\t\n\r]/g, '');
  const hash = s.indexOf('#');
  if (hash !== -1) s = s.slice(0, hash);
  const q = s.indexOf('?');
  if (q === -1) return s.replace(PATH_UNSAFE, percent);
  return s.slice(0, q).replace(PATH_UNSAFE, percent) + s.slice(q).replace(QUERY_UNSAFE, percent);
}

export function resolveTarget(url: string, base: BaseUrl | null): Target {
  const text = trimUrl(url);
  if (ABSOLUTE.test(text)) {
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      throw new BadUrl(`bad URL "${url}"`);
    }
    return { origin: u.origin, path: `${u.pathname}${u.search}` };
  }
  if (SCHEME.test(text)) throw new BadUrl(`not an http(s) URL: "${url}"`);
  if (!base) throw new BadUrl(`relative URL "${url}" needs --base-url or CAPI_BASE_URL`);
  const ref = encodeTarget(text);
  return { origin: base.origin, path: `${base.prefix}${ref.startsWith('/') ? ref : `/${ref}`}` };
}
