import type { RequestContext } from './context.js';
import { hasName, readItemBody } from './item-body.js';
import { defaultMaxItemBytes, type PutResult, type StoredItem } from './item-store.js';
import { clampInt } from './items.js';
import { mergePatch, PatchTooDeep } from './merge-patch.js';
import { send, sendEmpty, sendJson } from './respond.js';

const json = { 'content-type': 'application/json; charset=utf-8' };
const notFound = { error: 'not found' };

/**
 * `/secure/items`: items the API stores under ids it assigns, behind a Bearer token from
 * `POST /auth/token`. routes.ts wraps each handler in `withBearer`, so without a valid token
 * nothing is read or changed.
 */
export async function createSecureItem(ctx: RequestContext): Promise<void> {
  const body = await readItemBody(ctx, true, defaultMaxItemBytes);
  if (!body.ok) return sendJson(ctx, body.status, { error: body.error });
  return answerPut(ctx, ctx.state.items.create(body.fields), 201);
}

export function listSecureItems(ctx: RequestContext): Promise<void> {
  const limit = clampInt(ctx.url.searchParams.get('limit'), 10, 1, 1000);
  const offset = clampInt(ctx.url.searchParams.get('offset'), 0, 0, Number.MAX_SAFE_INTEGER);
  const { items } = ctx.state;
  const page = items.list(offset, limit).map((item) => item.json);
  const total = items.counts().held;
  return send(ctx, 200, `{"items":[${page.join(',')}],"total":${total},"limit":${limit},"offset":${offset}}`, json);
}

export function getSecureItem(ctx: RequestContext): Promise<void> {
  const item = ctx.state.items.get(ctx.params.id ?? '');
  return item ? send(ctx, 200, item.json, json) : sendJson(ctx, 404, notFound);
}

/** PUT replaces every field but the id; the body needs a `name` like a POST. */
export async function replaceSecureItem(ctx: RequestContext): Promise<void> {
  const id = ctx.params.id ?? '';
  if (!ctx.state.items.get(id)) return sendJson(ctx, 404, notFound);
  const body = await readItemBody(ctx, true, defaultMaxItemBytes);
  if (!body.ok) return sendJson(ctx, body.status, { error: body.error });
  return answerPut(ctx, ctx.state.items.update(id, body.fields), 200);
}

/** PATCH is a JSON Merge Patch (RFC 7396); the result must still have a `name`. */
export async function patchSecureItem(ctx: RequestContext): Promise<void> {
  const id = ctx.params.id ?? '';
  const current = ctx.state.items.get(id);
  if (!current) return sendJson(ctx, 404, notFound);
  const body = await readItemBody(ctx, false, defaultMaxItemBytes);
  if (!body.ok) return sendJson(ctx, body.status, { error: body.error });
  let merged: Record<string, unknown>;
  try {
    merged = mergePatch(JSON.parse(current.json), body.fields) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof PatchTooDeep) return sendJson(ctx, 422, { error: err.message });
    throw err;
  }
  if (!hasName(merged)) return sendJson(ctx, 422, { error: 'field "name" is required' });
  return answerPut(ctx, ctx.state.items.update(id, merged), 200);
}

/** DELETE answers 204 with no body; a second DELETE of the same id is 404. */
export function deleteSecureItem(ctx: RequestContext): Promise<void> | undefined {
  if (!ctx.state.items.remove(ctx.params.id ?? '')) return sendJson(ctx, 404, notFound);
  sendEmpty(ctx, 204);
}

function answerPut(ctx: RequestContext, result: PutResult, status: 200 | 201): Promise<void> {
  if (!result.ok) {
    // The item was there when the request began but was deleted while its body arrived.
    if (result.reason === 'not found') return sendJson(ctx, 404, notFound);
    return sendJson(ctx, 413, { error: `item over ${defaultMaxItemBytes} bytes` });
  }
  return send(ctx, status, result.item.json, status === 201 ? { ...json, location: locationOf(result.item) } : json);
}

function locationOf(item: StoredItem): string {
  return `/secure/items/${encodeURIComponent(item.id)}`;
}
