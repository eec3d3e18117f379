import type { Client as UndiciClient } from 'undici';
// Only the Client module, not undici's index: the index loads fetch, WebSocket, caches and
// mocks too, ~0.12 s of start-up per process, paid by every batch worker capi-launch starts.
import ClientModule from 'undici/lib/dispatcher/client.js';
import { type BodyDecoder, codings, createBodyDecoder, type Decoded, unknownCoding } from './decode-body.js';

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

/** Response headers capi reads (Retry-After, rate-limit hints, Content-Encoding): only these are turned into strings. */
function wanted(name: Buffer): string | null {
  const c = (name[0] as number) | 0x20;
  // r(etry-after, ratelimit*), x(-ratelimit-*, -rate-limit-*), c(ontent-encoding), any case:
  // every other header is skipped without decoding it.
  if (c !== 0x72 && c !== 0x78 && c !== 0x63) return null;
  const lower = name.toString('latin1').toLowerCase();
  return lower === 'retry-after' ||
    lower === 'content-encoding' ||
    lower.startsWith('ratelimit') ||
    lower.startsWith('x-ratelimit') ||
    lower.startsWith('x-rate-limit')
    ? lower
    : null;
}

function contentEncoding(raw: Buffer[] | null): string[] {
  if (!raw) return [];
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2)
    if ((raw[i] as Buffer).length === 16 && (raw[i] as Buffer).toString('latin1').toLowerCase() === 'content-encoding')
      values.push((raw[i + 1] as Buffer).toString('latin1'));
  return codings(values);
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
  /** The codings of a Content-Encoding body a check reads; decoded as it arrives. */
  codings: string[] = [];
  decoder: BodyDecoder | null = null;
  decoded: Decoded | null = null;
  resume: (() => void) | null = null;
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

  onHeaders(status: number, raw: Buffer[] | null, resume: () => void): boolean {
    this.status = status;
    this.raw = raw;
    this.resume = resume;
    if (this.keep > 0) this.codings = contentEncoding(raw);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    let more = true;
    if (this.codings.length > 0) more = this.decode(chunk);
    else if (this.kept < this.keep) {
      const part = chunk.length <= this.keep - this.kept ? chunk : chunk.subarray(0, this.keep - this.kept);
      this.chunks.push(part);
      this.kept += part.length;
    }
    if (performance.now() > this.deadline)
      this.end(new RequestError('TIMEOUT', `body not read within ${this.timeoutMs} ms`));
    return more;
  }

  /** Decoding starts with the first byte (an empty body, as a HEAD's, has nothing to decode). */
  private decode(chunk: Buffer): boolean {
    if (unknownCoding(this.codings) !== null) return true;
    this.decoder ??= createBodyDecoder(this.codings, this.keep);
    if (this.decoder.write(chunk)) return true;
    this.decoder.onDrain(() => this.resume?.());
    return false;
  }

  onComplete(): void {
    if (!this.decoder) {
      this.settle(this.forced);
      return;
    }
    void this.decoder.finish().then((d) => {
      this.decoded = d;
      this.settle(this.forced);
    });
  }

  onError(err: Error): void {
    this.decoder?.destroy();
    this.settle(this.forced ?? err);
  }

  private settle(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.done(err);
  }

  text(): string {
    const chunks = this.decoded ? this.decoded.chunks : this.chunks;
    if (chunks.length === 0) return '';
    if (chunks.length === 1) return (chunks[0] as Buffer).toString('utf8');
    return Buffer.concat(chunks).toString('utf8');
  }

  /** A body a check reads that could not be decoded: an error that says so. */
  codingProblem(): string | null {
    if (this.codings.length === 0 || this.bytes === 0) return null;
    const said = `Content-Encoding: ${this.codings.join(', ')}`;
    const unknown = unknownCoding(this.codings);
    if (unknown !== null)
      return `the API answered ${this.status} with a body encoded as ${JSON.stringify(unknown)} (${said}), which capi-exec cannot decode`;
    if (this.decoded?.error)
      return `the API answered ${this.status} with a corrupt compressed body (${said}): ${this.decoded.error}`;
    return null;
  }
}

/** The request's headers with `Accept-Encoding` added, unless it has its own (any case). */
function askCompressed(headers: Record<string, string>): Record<string, string> {
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'accept-encoding') return headers;
  return { ...headers, 'accept-encoding': ACCEPT_ENCODING };
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
  const maxBody = Math.min(opts.maxBody, MAX_BODY_LIMIT);
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
    const problem = ex.codingProblem();
    if (problem) throw new RequestError('BAD_ENCODING', problem);
    return {
      status: ex.status,
      headers: pickHeaders(ex.raw),
      text: ex.text(),
      bytes: ex.bytes,
      decodedBytes: ex.decoded ? ex.decoded.decoded : null,
      truncated: ex.decoded ? ex.decoded.cut : ex.bytes > maxBody,
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
