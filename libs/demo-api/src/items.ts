import type { RequestContext } from './context.js';
import { itemFor, maxItemId, parseItemId } from './item.js';
import { readItemBody } from './item-body.js';
import { sendEmpty, sendJson } from './respond.js';

const notFound = { error: 'not found' };

/** GET /items?limit=&offset=: a page of the 10,001 deterministic items (limit 1..1000, default 10). */
export function listItems(ctx: RequestContext): Promise<void> {
  const limit = clampInt(ctx.url.searchParams.get('limit'), 10, 1, 1000);
  const offset = clampInt(ctx.url.searchParams.get('offset'), 0, 0, maxItemId + 1);
  const items = [];
  for (let id = offset; id <= maxItemId && items.length < limit; id++) items.push(itemFor(id));
  return sendJson(ctx, 200, { items, total: maxItemId + 1, limit, offset });
}

export function getItem(ctx: RequestContext): Promise<void> {
  const id = parseItemId(ctx.params.id ?? '');
  return id === null ? sendJson(ctx, 404, notFound) : sendJson(ctx, 200, itemFor(id));
}

export function deleteItem(ctx: RequestContext): Promise<void> | void {
  const id = parseItemId(ctx.params.id ?? '');
  return id === null ? sendJson(ctx, 404, notFound) : sendEmpty(ctx, 204);
}

/**
 * POST/PUT/PATCH /items and /items/:id. Nothing is stored: the answer is the item as it
 * would be, so the same request always gets the same answer (except a new POST id).
 */
export async function writeItem(ctx: RequestContext): Promise<void> {
  const rawId = ctx.params.id;
  const id = rawId === undefined ? null : parseItemId(rawId);
  if (rawId !== undefined && id === null) return sendJson(ctx, 404, notFound);
  const body = await readItemBody(ctx);
  if (!body.ok) return sendJson(ctx, body.status, { error: body.error });
  const created = ctx.req.method === 'POST';
  const finalId = id ?? (created ? ctx.state.nextItemId++ : 0);
  const base = id === null ? {} : itemFor(id);
  return sendJson(ctx, created ? 201 : 200, { ...base, ...body.fields, id: finalId });
}

export function clampInt(text: string | null, fallback: number, min: number, max: number): number {
  if (text === null || !/^\d+$/.test(text)) return fallback;
  return Math.min(max, Math.max(min, Number(text)));
}
