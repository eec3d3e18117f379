import { setFlagsFromString } from 'node:v8';
import type { Client as UndiciClient } from 'undici';
// Only the Client module, not undici's index: the index loads fetch, WebSocket, caches and
// mocks too, ~0.12 s of start-up per process, paid by every batch worker capi-launch starts.
import ClientModule from 'undici/lib/dispatcher/client.js';

// undici parses HTTP with llhttp in WebAssembly. V8 recompiles its hot functions with the
// optimizing compiler after a budget of work that one request already spends, and Node
// waits for that background compile before a process exits: 0.2 s added to a capi-exec run
// of one test (issue 15). Ten times the default budget (1,800,000) lets a short run end
// without it; a long run still tiers up after a few thousand responses. Read by V8 when the
// module is compiled, at undici's first connection, after this line.
setFlagsFromString('--wasm-tiering-budget=18000000');

type Client = UndiciClient;
const Client = ClientModule as unknown as typeof UndiciClient;

/**
 * The HTTP side: keep-alive connections, one per request in flight. Bodies are read up to --max-body; the rest is
 * drained and only counted, so memory stays bounded whatever the API sends.
 */
export interface OutgoingRequest {
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  timeoutMs: number;
  /** False when no check reads the body: it is then counted, not kept. */
  keepText: boolean;
}

export interface HttpAnswer {
  status: number;
  /** Only the headers capi reads: `retry-after`, `ratelimit*`, `x-ratelimit-*` (lower case). */
  headers: Record<string, string | string[] | undefined>;
  text: string;
  bytes: number;
  truncated: boolean;
  durationMs: number;
}

/** A request that got no usable answer; `code` is what the result record shows. */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** False when the HTTP client refused the request before sending it: trying again cannot help. */
    readonly sent = true,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/**
 * undici checks a request before it sends anything (the target, header names and values)
 * and refuses it with UND_ERR_INVALID_ARG: a BAD_URL or BAD_HEADER of the test itself.
 */
function refused(err: unknown): RequestError | null {
  const e = err as { code?: string; message?: string } | null;
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

function messageOf(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } } | null;
  const msg = e?.message ?? String(err);
  const cause = e?.cause?.message;
  return cause && cause !== msg ? `${msg}: ${cause}` : msg;
}

/** Response headers capi reads (Retry-After, rate-limit hints): only these are turned into strings. */
function wanted(name: Buffer): string | null {
  const c = name[0];
  // r(etry-after), R, x(-ratelimit-*), X: every other header is skipped without decoding it.
  if (c !== 0x72 && c !== 0x52 && c !== 0x78 && c !== 0x58) return null;
  const lower = name.toString('latin1').toLowerCase();
  return lower === 'retry-after' || lower.startsWith('ratelimit') || lower.startsWith('x-ratelimit') ? lower : null;
}

function pickHeaders(raw: Buffer[] | null): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  if (!raw) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = wanted(raw[i] as Buffer);
    if (name === null) continue;
    const value = (raw[i + 1] as Buffer).toString('latin1');
    const had = out[name];
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return out;
}

/**
 * One request, driven by undici's dispatch callbacks: no response stream, no promise per
 * callback. Keeps up to `keep` bytes of the body, counts all of them, and stops at the deadline.
 */
class Exchange {
  status = 0;
  raw: Buffer[] | null = null;
  chunks: Buffer[] = [];
  kept = 0;
  bytes = 0;
  /** Set when capi ended the request itself (a timeout): that, not undici's error, is the answer. */
  forced: RequestError | null = null;
  abortFn: ((err: Error) => void) | null = null;
  timer: NodeJS.Timeout | null = null;
  settled = false;
  constructor(
    readonly keep: number,
    readonly deadline: number,
    readonly timeoutMs: number,
    /** Called once: null when the answer is complete, else the error. */
    readonly done: (err: unknown) => void,
    /** Drops the connection (a request that has not started cannot be aborted otherwise). */
    readonly kill: (err: Error) => void,
  ) {}

  /** Ends the request with `err` (a timeout). */
  end(err: RequestError): void {
    if (this.settled || this.forced) return;
    this.forced = err;
    if (this.abortFn) this.abortFn(err);
    else this.kill(err);
  }

  onConnect(abort: (err: Error) => void): void {
    this.abortFn = abort;
    if (this.forced) abort(this.forced);
  }

  onHeaders(status: number, raw: Buffer[] | null): boolean {
    this.status = status;
    this.raw = raw;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (this.kept < this.keep) {
      const part = chunk.length <= this.keep - this.kept ? chunk : chunk.subarray(0, this.keep - this.kept);
      this.chunks.push(part);
      this.kept += part.length;
    }
    if (performance.now() > this.deadline)
      this.end(new RequestError('TIMEOUT', `body not read within ${this.timeoutMs} ms`));
    return true;
  }

  onComplete(): void {
    this.settle(this.forced);
  }

  onError(err: Error): void {
    this.settle(this.forced ?? err);
  }

  private settle(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.done(err);
  }

  text(): string {
    const { chunks } = this;
    if (chunks.length === 0) return '';
    if (chunks.length === 1) return (chunks[0] as Buffer).toString('utf8');
    return Buffer.concat(chunks, this.kept).toString('utf8');
  }
}

/** Timeouts up to this long are timed by capi-exec itself (to the ms); longer ones by undici (to about a second). */
export const PRECISE_TIMEOUT_MS = 5000;

/**
 * Connections: one undici Client (one keep-alive connection, pipelining 1) per request in
 * flight, taken from a stack of idle ones per origin and given back when the answer is
 * read. So the connections never outnumber the requests in flight (the window is the
 * only queue), and a request never waits behind another on a busy connection. This is
 * much cheaper per request than an Agent, whose pool scans all its connections and wraps
 * every response in a stream.
 */
export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const maxBody = opts.maxBody;
  const idle = new Map<string, Client[]>();
  const all = new Set<Client>();
  let ended = false;
  const clientOptions = {
    pipelining: 1,
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
        req.keepText ? maxBody : 0,
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
            headers: req.headers,
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

  async function send(req: OutgoingRequest): Promise<HttpAnswer> {
    const start = performance.now();
    const client = take(req.origin);
    let ex: Exchange;
    try {
      ex = await dispatch(client, req, start);
    } catch (err) {
      give(req.origin, client);
      if (err instanceof RequestError) throw err;
      const notSent = refused(err);
      if (notSent) throw notSent;
      const code = errorCode(err);
      const message = code === 'TIMEOUT' ? `no answer within ${req.timeoutMs} ms (${messageOf(err)})` : messageOf(err);
      throw new RequestError(code, message);
    }
    give(req.origin, client);
    return {
      status: ex.status,
      headers: pickHeaders(ex.raw),
      text: ex.text(),
      bytes: ex.bytes,
      truncated: ex.bytes > maxBody,
      durationMs: performance.now() - start,
    };
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
