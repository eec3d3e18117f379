import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext, ServerState } from './context.js';
import { sleep } from './timers.js';

const dripChunks = 10;

/** Sends a whole body, dripped over `knobs.slowBodyMs` when that is set. */
export async function send(
  ctx: RequestContext,
  status: number,
  body: string | Buffer,
  headers: OutgoingHttpHeaders = {},
): Promise<void> {
  const { res } = ctx;
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  countStatus(ctx.state, status);
  res.writeHead(status, { 'content-length': buf.length, ...headers });
  const slow = ctx.knobs.slowBodyMs;
  if (slow <= 0 || buf.length < 2) {
    res.end(buf);
    return;
  }
  const size = Math.ceil(buf.length / Math.min(dripChunks, buf.length));
  const parts = Math.ceil(buf.length / size);
  // First part at once, the last one `slow` ms later: the client sees the whole span.
  for (let at = 0; at < buf.length && !res.destroyed; at += size) {
    if (at > 0) await sleep(ctx.state, slow / (parts - 1));
    res.write(buf.subarray(at, at + size));
  }
  res.end();
}

export function sendJson(
  ctx: RequestContext,
  status: number,
  value: unknown,
  headers: OutgoingHttpHeaders = {},
): Promise<void> {
  return send(ctx, status, JSON.stringify(value), { 'content-type': 'application/json; charset=utf-8', ...headers });
}

/** 204 and 304 carry no body by definition. */
export function sendEmpty(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders = {}): void {
  countStatus(ctx.state, status);
  ctx.res.writeHead(status, headers);
  ctx.res.end();
}

/** Counted when the head is written, so a client that has the answer sees it in `/stats`. */
export function countStatus(state: ServerState, status: number): void {
  state.byStatus[status] = (state.byStatus[status] ?? 0) + 1;
}
