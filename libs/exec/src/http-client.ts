import type * as Http from 'node:http';
import { monotonicMs } from '@capi/core';
import type { Client as UndiciClient } from 'undici';
// Only the Client module, not undici's index: the index loads fetch, WebSocket, caches and
// mocks too, ~0.12 s of start-up per process, paid by every batch worker capi-launch starts.
import ClientModule from 'undici/lib/dispatcher/client.js';
import { Exchange, pickHeaders, RequestError } from './exchange.js';
import { TRANSIENT_STATUSES, UNKNOWN_CODING } from './retry-rule.js';
import { setExecV8Flags } from './v8-flags.js';

export { RequestError };

// undici's llhttp and the V8 flag that keeps a short run from waiting for its optimizing
// compile (v8-flags.ts): set before undici's first connection.
setExecV8Flags();

type Client = UndiciClient;
const Client = ClientModule as unknown as typeof UndiciClient;

/**
 * The HTTP side: keep-alive connections, one per request in flight. Bodies are read up to --max-body (decoded, when
 * the API compressed them); the rest is drained and only counted, so memory stays bounded whatever the API sends.
 */

/**
 * The most --max-body may be: 256 MiB. A kept body is read as one UTF-8 string, and a
 * string holds at most 2^29-24 UTF-16 units; N bytes decode to at most N units.
 */
export const MAX_BODY_LIMIT = 256 * 1024 * 1024;

/** What `--compressed` asks for. */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

export interface OutgoingRequest {
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  timeoutMs: number;
  /** False when no check reads the body: it is then counted, not kept. */
  keepText: boolean;
  /** Body bytes kept for `debug` and `--trace` even when no check reads them (0 when absent). */
  sampleBytes?: number;
}

export interface HttpAnswer {
  status: number;
  /** Only the headers capi reads: `retry-after`, `ratelimit*`, `x-ratelimit-*`, `content-encoding` (lower case). */
  headers: Record<string, string | string[] | undefined>;
  /** The body as the checks see it: decoded when it had a Content-Encoding. */
  text: string;
  /** Bytes of the body on the wire. */
  bytes: number;
  /** Bytes of the body once decoded (only when it was encoded and a check read it). */
  decodedBytes: number | null;
  /** The body passed --max-body (decoded, when it was encoded). */
  truncated: boolean;
  durationMs: number;
  /** Every response header as undici gave it (name, value, …), decoded only for `debug`. */
  rawHeaders: Buffer[] | null;
  /** The kept body chunks (up to --max-body or `sampleBytes`), decoded only for `debug`. */
  sample: Buffer[];
}

/**
 * undici checks a request before it sends anything (the target, header names and values)
 * and refuses it with UND_ERR_INVALID_ARG: a BAD_URL or BAD_HEADER of the test itself.
 */
function refused(err: unknown): RequestError | null {
  const e = err as { code?: string; message?: string } | null;
  // Neither can succeed on a retry: the test itself asks for what undici will not send.
  if (e?.code === 'UND_ERR_NOT_SUPPORTED' || e?.code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH')
    return new RequestError(
      'BAD_HEADER',
      `the request was refused before it was sent, and a retry cannot succeed: ${e.message ?? e.code}`,
      false,
    );
  if (e?.code !== 'UND_ERR_INVALID_ARG') return null;
  const message = e.message ?? 'invalid request';
  const code = /path|url/i.test(message) ? 'BAD_URL' : /header/i.test(message) ? 'BAD_HEADER' : 'BAD_REQUEST';
  return new RequestError(code, `the request was refused before it was sent: ${message}`, false);
}

export interface HttpClientOptions {
  /** Idle keep-alive connections kept per origin; null: as many as were in flight at once. */
  connections: number | null;
  insecure: boolean;
  maxBody: number;
  /** Send `Accept-Encoding: gzip, deflate, br` when the request has none. */
  compressed?: boolean;
}

export interface HttpClient {
  send(req: OutgoingRequest): Promise<HttpAnswer>;
  /** Aborts every request in flight (a grace deadline passed). */
  destroy(): Promise<void>;
  close(): Promise<void>;
}

const CODES: Record<string, string> = {
  UND_ERR_HEADERS_TIMEOUT: 'TIMEOUT',
  UND_ERR_BODY_TIMEOUT: 'TIMEOUT',
  UND_ERR_CONNECT_TIMEOUT: 'TIMEOUT',
  ETIMEDOUT: 'TIMEOUT',
  UND_ERR_SOCKET: 'ECONNRESET',
  ECONNRESET: 'ECONNRESET',
  EPIPE: 'ECONNRESET',
  ECONNREFUSED: 'ECONNREFUSED',
  ENOTFOUND: 'DNS',
  EAI_AGAIN: 'DNS',
  UND_ERR_DESTROYED: 'CUT',
  UND_ERR_ABORTED: 'CUT',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'BAD_RESPONSE',
  UND_ERR_HEADERS_OVERFLOW: 'BAD_RESPONSE',
  HPE_INVALID_CONSTANT: 'BAD_RESPONSE',
};

/** Maps undici and system errors to the short codes of result records. */
export function errorCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } } | null;
  const code = e?.code ?? '';
  const cause = e?.cause?.code ?? '';
  if (CODES[code]) return CODES[code] as string;
  if (CODES[cause]) return CODES[cause] as string;
  if (/CERT|SSL|TLS|SELF_SIGNED/i.test(`${code} ${cause}`)) return 'TLS';
  if (/^HPE_/.test(code) || /^HPE_/.test(cause)) return 'BAD_RESPONSE';
  return code || cause || 'REQUEST_FAILED';
}

/** What a failed exchange says: undici's message, with what capi knows added where it helps. */
function failureMessage(err: unknown, code: string, timeoutMs: number): string {
  if (code === 'TIMEOUT') return `no answer within ${timeoutMs} ms (${messageOf(err)})`;
  if ((err as { code?: string } | null)?.code === 'UND_ERR_HEADERS_OVERFLOW') {
    // node:http loaded only here, to say the limit in force (maxHeaderSize above)
    const limit = (process.getBuiltinModule('node:http') as typeof Http).maxHeaderSize;
    return `response headers over ${limit} bytes in all (node's limit: NODE_OPTIONS=--max-http-header-size=BYTES raises it)`;
  }
  return messageOf(err);
}

function messageOf(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } } | null;
  const msg = e?.message ?? String(err);
  const cause = e?.cause?.message;
  return cause && cause !== msg ? `${msg}: ${cause}` : msg;
}

/** The request's headers with `Accept-Encoding` added, unless it has its own (any case). */
function askCompressed(headers: Record<string, string>): Record<string, string> {
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'accept-encoding') return headers;
  return { ...headers, 'accept-encoding': ACCEPT_ENCODING };
}

/** Timeouts up to this long are timed by capi-exec itself (to the ms); longer ones by undici (to about a second). */
export const PRECISE_TIMEOUT_MS = 5000;

/** Bytes kept of a body no check reads: a status failure shows its start (redacted, then cut). */
export const STATUS_BODY_BYTES = 4096;

/**
 * The most bytes of response headers a Client takes (more fails the exchange): node's own
 * `http.maxHeaderSize`, 16 KiB unless node runs with `--max-http-header-size`. Given to
 * undici so that it need not load node:http to read it (scripts/esbuild-options.mjs); under
 * that flag (on node's command line or in NODE_OPTIONS) undici reads node's value, as before.
 * Node takes `_` for `-` in its flags' names (`--max_http_header_size`): either spelling is
 * the flag.
 */
export function maxHeaderSize(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): number | undefined {
  const set = [...execArgv, nodeOptions].some((a) => /--max[-_]http[-_]header[-_]size/.test(a));
  return set ? undefined : 16 * 1024;
}

/**
 * Connections: one undici Client (one keep-alive connection, pipelining 1) per request in
 * flight, taken from a stack of idle ones per origin and given back when the answer is
 * read. So the connections never outnumber the requests in flight (the window is the
 * only queue), and a request never waits behind another on a busy connection. This is
 * much cheaper per request than an Agent, whose pool scans all its connections and wraps
 * every response in a stream. Long as a whole, short in its parts: the inner functions
 * share the idle stacks and the open clients, which `destroy` must reach.
 */
export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const maxBody = Math.min(opts.maxBody, MAX_BODY_LIMIT);
  const idle = new Map<string, Client[]>();
  const all = new Set<Client>();
  let ended = false;
  const clientOptions = {
    pipelining: 1,
    maxHeaderSize: maxHeaderSize(),
    keepAliveTimeout: 10_000,
    connect: opts.insecure ? { rejectUnauthorized: false } : {},
  };

  const take = (origin: string): Client => {
    const client = idle.get(origin)?.pop();
    if (client) return client;
    const made = new Client(origin, clientOptions);
    all.add(made);
    return made;
  };
  const give = (origin: string, client: Client) => {
    if (client.destroyed || client.closed || ended) {
      all.delete(client);
      return;
    }
    let stack = idle.get(origin);
    if (!stack) {
      stack = [];
      idle.set(origin, stack);
    }
    if (opts.connections !== null && stack.length >= opts.connections) {
      all.delete(client);
      void client.close().catch(() => {});
      return;
    }
    stack.push(client);
  };

  function dispatch(client: Client, req: OutgoingRequest, start: number): Promise<Exchange> {
    return new Promise<Exchange>((resolve, reject) => {
      const ex: Exchange = new Exchange(
        req.keepText ? maxBody : Math.min(maxBody, Math.max(STATUS_BODY_BYTES, req.sampleBytes ?? 0)),
        start + req.timeoutMs,
        req.timeoutMs,
        (err) => (err === null ? resolve(ex) : reject(err)),
        (err) => {
          all.delete(client);
          void client.destroy(err).catch(() => {});
        },
      );
      // undici's own timeouts tick at about one second; a short timeout gets a timer of its own.
      if (req.timeoutMs <= PRECISE_TIMEOUT_MS)
        ex.timer = setTimeout(
          () => ex.end(new RequestError('TIMEOUT', `no answer within ${req.timeoutMs} ms`)),
          req.timeoutMs,
        );
      try {
        client.dispatch(
          {
            path: req.path,
            method: req.method as 'GET',
            headers: opts.compressed ? askCompressed(req.headers) : req.headers,
            body: req.body,
            headersTimeout: req.timeoutMs,
            bodyTimeout: req.timeoutMs,
          },
          ex as unknown as Parameters<Client['dispatch']>[1],
        );
      } catch (err) {
        ex.onError(err as Error);
      }
    });
  }

  /** A failed exchange as the error `send` rejects with. */
  function failed(req: OutgoingRequest, client: Client, err: unknown): never {
    give(req.origin, client);
    if (err instanceof RequestError) throw err;
    const notSent = refused(err);
    if (notSent) throw notSent;
    const code = errorCode(err);
    const raw = err as { code?: string; cause?: { code?: string } } | null;
    throw new RequestError(code, failureMessage(err, code, req.timeoutMs), true, raw?.code ?? raw?.cause?.code ?? null);
  }

  function answered(req: OutgoingRequest, client: Client, ex: Exchange, start: number): HttpAnswer {
    give(req.origin, client);
    // A body no check reads is kept only for a status failure's snippet: one that does not
    // decode is left out of it rather than failing a test that never asked for the body.
    const problem = ex.codingProblem();
    if (problem && req.keepText) {
      // An unknown coding comes again from the same server (retry-rule.ts), but not from a
      // rate limit's 429 or a gateway's 502, 503 or 504 page, which a retry may get past.
      const again = ex.undecodable() && !TRANSIENT_STATUSES.has(ex.status);
      throw new RequestError('BAD_ENCODING', problem, true, again ? UNKNOWN_CODING : null);
    }
    return {
      status: ex.status,
      headers: pickHeaders(ex.raw),
      // only when a check reads it: a status failure's snippet is made from `sample`, lazily
      text: req.keepText ? ex.text() : '',
      bytes: ex.bytes,
      decodedBytes: ex.decoded && req.keepText ? ex.decoded.decoded : null,
      truncated: ex.decoded ? ex.decoded.cut : ex.bytes > maxBody,
      durationMs: monotonicMs() - start,
      rawHeaders: ex.raw,
      // decoded when it was compressed, so a failed test's `debug` body is readable
      sample: problem ? [] : ex.decoded ? ex.decoded.chunks : ex.chunks,
    };
  }

  /** One `then` on the exchange's promise, not an async function and its await (issue 16). */
  function send(req: OutgoingRequest): Promise<HttpAnswer> {
    const start = monotonicMs();
    let client: Client;
    try {
      client = take(req.origin);
    } catch (err) {
      return Promise.reject(err);
    }
    return dispatch(client, req, start).then(
      (ex) => answered(req, client, ex, start),
      (err: unknown) => failed(req, client, err),
    );
  }

  const each = async (fn: (c: Client) => Promise<void>) => {
    ended = true;
    const clients = [...all];
    all.clear();
    idle.clear();
    await Promise.all(clients.map((c) => fn(c).catch(() => {})));
  };

  return {
    send,
    destroy: () => each((c) => c.destroy()),
    close: () => each((c) => c.close()),
  };
}
