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
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new BadUrl(`not an absolute http(s) URL: "${text}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BadUrl(`not an http(s) URL: "${text}"`);
  return { origin: u.origin, prefix: u.pathname.replace(/\/+$/, '') };
}

const ABSOLUTE = /^https?:\/\//i;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** The base URL as it is recorded in a journal's meta: origin and path, no credentials, no query. */
export function formatBaseUrl(base: BaseUrl | null): string | null {
  return base ? `${base.origin}${base.prefix}` : null;
}

/**
 * Whether a URL (templates already expanded) is a path that only a base URL can complete.
 * Another scheme (`ftp:`) is not: it is a bad URL whatever the base.
 */
export function isRelativeUrl(url: string): boolean {
  const text = url.trim();
  return !ABSOLUTE.test(text) && !SCHEME.test(text);
}

export function resolveTarget(url: string, base: BaseUrl | null): Target {
  if (ABSOLUTE.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new BadUrl(`bad URL "${url}"`);
    }
    return { origin: u.origin, path: `${u.pathname}${u.search}` };
  }
  if (SCHEME.test(url)) throw new BadUrl(`not an http(s) URL: "${url}"`);
  if (!base) throw new BadUrl(`relative URL "${url}" needs --base-url or CAPI_BASE_URL`);
  return { origin: base.origin, path: `${base.prefix}${url.startsWith('/') ? url : `/${url}`}` };
}
