import { issueToken, withBearer } from './auth.js';
import { bytes } from './bytes.js';
import type { RequestContext } from './context.js';
import { echo } from './echo.js';
import { deleteItem, getItem, listItems, writeItem } from './items.js';
import { flaky, rateLimited, rateLimitHeaders } from './limits.js';
import { delay, health, html, reset, secure, stats, status } from './misc.js';
import {
  createSecureItem,
  deleteSecureItem,
  getSecureItem,
  listSecureItems,
  patchSecureItem,
  replaceSecureItem,
} from './secure-items.js';

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  pattern: string;
  segments: string[];
  /** Method → handler; `*` takes any method. GET routes answer HEAD too. */
  methods: Record<string, Handler>;
}

function route(pattern: string, methods: Record<string, Handler>): Route {
  return { pattern, segments: pattern.split('/').slice(1), methods };
}

const routes: Route[] = [
  route('/health', { GET: health }),
  route('/stats', { GET: stats }),
  route('/items', { GET: listItems, POST: writeItem, PUT: writeItem, PATCH: writeItem }),
  route('/items/:id', { GET: getItem, POST: writeItem, PUT: writeItem, PATCH: writeItem, DELETE: deleteItem }),
  route('/echo', { '*': echo }),
  route('/status/:code', { '*': status }),
  route('/delay/:ms', { GET: delay }),
  route('/bytes/:n', { GET: bytes }),
  route('/reset', { '*': reset }),
  route('/secure', { GET: secure }),
  route('/auth/token', { POST: issueToken }),
  route('/secure/items', { GET: withBearer(listSecureItems), POST: withBearer(createSecureItem) }),
  route('/secure/items/:id', {
    GET: withBearer(getSecureItem),
    PUT: withBearer(replaceSecureItem),
    PATCH: withBearer(patchSecureItem),
    DELETE: withBearer(deleteSecureItem),
  }),
  route('/ratelimit', { GET: rateLimited }),
  route('/ratelimit-headers', { GET: rateLimitHeaders }),
  route('/flaky/:key', { GET: flaky }),
  route('/html', { GET: html }),
];

export type Match =
  | { kind: 'found'; name: string; handler: Handler; params: Record<string, string> }
  | { kind: 'method'; name: string; allow: string }
  | { kind: 'none'; name: string };

/** Finds the route of a path; `name` (e.g. `GET /items/:id`) is what stats counts. */
export function matchRoute(method: string, pathname: string): Match {
  const parts = pathname.split('/').slice(1);
  for (const r of routes) {
    const params = matchSegments(r.segments, parts);
    if (!params) continue;
    const handler = r.methods[method] ?? (method === 'HEAD' ? r.methods.GET : undefined) ?? r.methods['*'];
    if (handler) return { kind: 'found', name: `${method} ${r.pattern}`, handler, params };
    return { kind: 'method', name: `${method} ${r.pattern}`, allow: Object.keys(r.methods).join(', ') };
  }
  return { kind: 'none', name: 'unknown' };
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const got = parts[i]!;
    if (want.startsWith(':')) {
      if (got === '') return null;
      params[want.slice(1)] = safeDecode(got);
    } else if (want !== got) return null;
  }
  return params;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
