import type { RequestContext, ServerState } from './context.js';
import type { DemoApiStats } from './options.js';
import { send, sendEmpty, sendJson } from './respond.js';
import { sleep } from './timers.js';

export const maxDelayMs = 60_000;

export function health(ctx: RequestContext): Promise<void> {
  return sendJson(ctx, 200, { status: 'ok' });
}

export function stats(ctx: RequestContext): Promise<void> {
  return sendJson(ctx, 200, statsOf(ctx.state));
}

/** The counters `/stats` and `api.stats()` show: copies, so a caller cannot change the server's. */
export function statsOf(state: ServerState): DemoApiStats {
  const { tokensIssued, tokenErrors, unauthorized, malformed } = state.auth;
  const tokens = state.tokens.counts();
  return {
    requests: state.requests,
    byRoute: { ...state.byRoute },
    byStatus: { ...state.byStatus },
    auth: {
      tokensIssued,
      tokensHeld: tokens.held,
      tokensEvicted: tokens.evicted,
      tokenErrors: { ...tokenErrors },
      unauthorized: { ...unauthorized },
      malformed,
    },
    secureItems: state.items.counts(),
  };
}

/** GET /status/:code: that status (200..599) with a small JSON body (none for 204/304). */
export function status(ctx: RequestContext): Promise<void> | void {
  const text = ctx.params.code ?? '';
  const code = Number(text);
  if (!/^\d{3}$/.test(text) || code < 200 || code > 599) {
    return sendJson(ctx, 400, { error: `status must be 200..599, got "${text}"` });
  }
  if (code === 204 || code === 304) return sendEmpty(ctx, code);
  return sendJson(ctx, code, { status: code });
}

/** GET /delay/:ms: answers after ms (at most 60 s). */
export async function delay(ctx: RequestContext): Promise<void> {
  const text = ctx.params.ms ?? '';
  if (!/^\d+$/.test(text)) return sendJson(ctx, 400, { error: `delay must be whole ms, got "${text}"` });
  const ms = Math.min(Number(text), maxDelayMs);
  await sleep(ctx.state, ms);
  if (ctx.res.destroyed) return;
  return sendJson(ctx, 200, { delayedMs: ms });
}

export function html(ctx: RequestContext): Promise<void> {
  // Hostile on purpose: report writers must escape what they show from a response.
  const page = `<script>alert(1)</script><img src=x onerror="alert('x')"><b>&amp; "quotes" & 'apostrophes'</b>\n`;
  return send(ctx, 200, page, { 'content-type': 'text/html; charset=utf-8' });
}

/** GET /secure: 200 only with `Authorization: Bearer <token>`, the static `token` option (not an issued one). */
export function secure(ctx: RequestContext): Promise<void> {
  const auth = ctx.req.headers.authorization;
  if (auth === `Bearer ${ctx.state.options.token}`) return sendJson(ctx, 200, { ok: true });
  ctx.state.auth.unauthorized[auth === undefined ? 'missing' : 'invalid']++;
  return sendJson(ctx, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer realm="demo"' });
}

/** GET /reset: the socket is destroyed without an answer (a client sees ECONNRESET / "other side closed"). */
export function reset(ctx: RequestContext): void {
  ctx.req.socket.destroy();
}
