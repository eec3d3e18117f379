import type { RequestContext } from './context.js';
import { parseJsonBody, readBody } from './read-body.js';
import { sendJson } from './respond.js';

/** Any method on /echo: what the server received, so tests can see exactly what a client sent. */
export async function echo(ctx: RequestContext): Promise<void> {
  const body = await readBody(ctx.req);
  const parsed = body === '' ? null : parseJsonBody(body);
  return sendJson(ctx, 200, {
    method: ctx.req.method,
    path: ctx.url.pathname,
    query: queryObject(ctx.url.searchParams),
    headers: ctx.req.headers,
    body,
    json: parsed?.ok ? parsed.value : null,
  });
}

/** A repeated query key becomes an array, a single one a string. */
function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    out[key] = all.length === 1 ? all[0]! : all;
  }
  return out;
}
