import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRandom } from '@capi/core';
import type { RequestContext, ServerState } from './context.js';
import { createItemStore } from './item-store.js';
import { requestKnobs } from './knobs.js';
import { statsOf } from './misc.js';
import { type DemoApi, type DemoApiOptions, resolveOptions } from './options.js';
import { BodyTooLarge } from './read-body.js';
import { countStatus, sendJson } from './respond.js';
import { matchRoute } from './routes.js';
import { sleep } from './timers.js';
import { createTokenBucket } from './token-bucket.js';
import { createTokenStore } from './token-store.js';

/** Starts the demo API on 127.0.0.1 (port 0 = any free port) and resolves once it listens. */
export async function startDemoApi(opts: DemoApiOptions = {}): Promise<DemoApi> {
  const options = resolveOptions(opts);
  const state: ServerState = {
    options,
    random: createRandom(options.seed),
    requests: 0,
    byRoute: {},
    byStatus: {},
    auth: {
      tokensIssued: 0,
      tokenErrors: {},
      unauthorized: { missing: 0, invalid: 0, expired: 0 },
      malformed: 0,
    },
    tokens: createTokenStore(),
    items: createItemStore(),
    globalBucket: options.rateLimit > 0 ? createTokenBucket(options.rateLimit) : null,
    routeBuckets: new Map(),
    flaky: new Map(),
    windows: new Map(),
    nextItemId: 10_001,
    timers: new Set(),
  };
  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(state, req, res).catch((err) => failRequest(state, res, err));
  });
  // Clients pool connections for seconds; a shorter server timeout races them into resets.
  server.keepAliveTimeout = 10_000;
  server.headersTimeout = 15_000;
  server.requestTimeout = 120_000;
  server.maxHeadersCount = 2000;
  await listen(server, options.host, options.port);
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    // Idempotent: a test's own close and its after() hook may both call it.
    close: () => {
      closing ??= close(server, state);
      return closing;
    },
    stats: () => statsOf(state),
  };
}

async function handle(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://demo.invalid');
  const method = req.method ?? 'GET';
  const match = matchRoute(method, url.pathname);
  state.requests++;
  state.byRoute[match.name] = (state.byRoute[match.name] ?? 0) + 1;
  const ctx: RequestContext = {
    req,
    res,
    url,
    params: {},
    knobs: requestKnobs(state.options, url.searchParams),
    state,
  };
  if (state.globalBucket) {
    const taken = state.globalBucket.take();
    if (!taken.ok) {
      const retryAfter = state.options.retryAfterS ?? taken.retryAfterS;
      return sendJson(ctx, 429, { error: 'rate limited' }, { 'retry-after': String(retryAfter) });
    }
  }
  const { latencyMs, jitterMs, resetRate, errorRate } = ctx.knobs;
  await sleep(state, latencyMs + (jitterMs > 0 ? state.random() * jitterMs : 0));
  if (res.destroyed) return;
  if (resetRate > 0 && state.random() < resetRate) return void req.socket.destroy();
  if (errorRate > 0 && state.random() < errorRate) return sendJson(ctx, 500, { error: 'injected error' });
  if (match.kind === 'none') return sendJson(ctx, 404, { error: 'not found' });
  if (match.kind === 'method') return sendJson(ctx, 405, { error: 'method not allowed' }, { allow: match.allow });
  ctx.params = match.params;
  await match.handler(ctx);
}

function failRequest(state: ServerState, res: ServerResponse, err: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const tooLarge = err instanceof BodyTooLarge;
  const body = JSON.stringify({ error: tooLarge ? err.message : 'internal error' });
  countStatus(state, tooLarge ? 413 : 500);
  res.writeHead(tooLarge ? 413 : 500, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  res.end(body);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: Server, state: ServerState): Promise<void> {
  for (const timer of state.timers) clearTimeout(timer);
  state.timers.clear();
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}
