import type { RequestContext } from './context.js';
import { parseJsonBody, readBody } from './read-body.js';

export type ItemBody =
  | { ok: true; fields: Record<string, unknown> }
  | { ok: false; status: 400 | 413 | 422; error: string };

/**
 * Reads an item from the request body, as `/items` and `/secure/items` both want it: JSON
 * (400 otherwise, an empty body too), an object (422), with a non-empty string `name` (422)
 * unless `requireName` is off (a merge patch may leave the name out); 413 past `maxBytes`.
 */
export async function readItemBody(ctx: RequestContext, requireName = true, maxBytes?: number): Promise<ItemBody> {
  const text = await readBody(ctx.req);
  if (maxBytes !== undefined && Buffer.byteLength(text) > maxBytes) {
    return { ok: false, status: 413, error: `item over ${maxBytes} bytes` };
  }
  const parsed = parseJsonBody(text);
  if (!parsed.ok) return { ok: false, status: 400, error: `invalid JSON: ${parsed.message}` };
  const body = parsed.value;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, status: 422, error: 'body must be a JSON object' };
  }
  const fields = body as Record<string, unknown>;
  if (requireName && !hasName(fields)) return { ok: false, status: 422, error: 'field "name" is required' };
  return { ok: true, fields };
}

export function hasName(fields: Record<string, unknown>): boolean {
  return typeof fields.name === 'string' && fields.name !== '';
}
