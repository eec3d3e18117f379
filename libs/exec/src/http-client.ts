import { Agent } from 'undici';

/**
 * The HTTP side: one undici Agent whose per-origin pool holds as many keep-alive
 * connections as there are lanes. Bodies are read up to --max-body; the rest is
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
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export interface HttpClientOptions {
  /** Keep-alive connections per origin; null: as many as requests in flight. */
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

interface BodyRead {
  text: string;
  bytes: number;
  truncated: boolean;
}

/**
 * Reads a response body with 'data' events (cheaper per response than an async
 * iterator): keeps up to `keep` bytes, counts all of them, and gives up at the deadline.
 */
function readBody(
  body: NodeJS.ReadableStream & { destroy(err?: Error): void },
  keep: number,
  maxBody: number,
  deadline: number,
  timeoutMs: number,
): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let bytes = 0;
    body.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (kept < keep) {
        const part = chunk.length <= keep - kept ? chunk : chunk.subarray(0, keep - kept);
        chunks.push(part);
        kept += part.length;
      }
      if (performance.now() > deadline)
        body.destroy(new RequestError('TIMEOUT', `body not read within ${timeoutMs} ms`));
    });
    body.on('error', reject);
    body.on('end', () => {
      const text =
        chunks.length === 0
          ? ''
          : chunks.length === 1
            ? (chunks[0] as Buffer).toString('utf8')
            : Buffer.concat(chunks, kept).toString('utf8');
      resolve({ text, bytes, truncated: bytes > maxBody });
    });
  });
}

/** Timeouts up to this long are timed by capi-exec itself (to the ms); longer ones by undici (to about a second). */
export const PRECISE_TIMEOUT_MS = 5000;

export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const agent = new Agent({
    connections: opts.connections,
    pipelining: 1,
    keepAliveTimeout: 10_000,
    connect: opts.insecure ? { rejectUnauthorized: false } : {},
  });
  const maxBody = opts.maxBody;

  async function send(req: OutgoingRequest): Promise<HttpAnswer> {
    const start = performance.now();
    const deadline = start + req.timeoutMs;
    // undici's own timeouts tick at about one second; a short timeout gets a timer of its own.
    const precise = req.timeoutMs <= PRECISE_TIMEOUT_MS ? new AbortController() : null;
    const timer = precise
      ? setTimeout(
          () => precise.abort(new RequestError('TIMEOUT', `no answer within ${req.timeoutMs} ms`)),
          req.timeoutMs,
        )
      : null;
    try {
      return await exchange(req, start, deadline, precise?.signal);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async function exchange(
    req: OutgoingRequest,
    start: number,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<HttpAnswer> {
    let res: Awaited<ReturnType<Agent['request']>>;
    try {
      res = await agent.request({
        origin: req.origin,
        path: req.path,
        method: req.method as 'GET',
        headers: req.headers,
        body: req.body,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        signal,
      });
    } catch (err) {
      if (err instanceof RequestError) throw err;
      const code = errorCode(err);
      const message = code === 'TIMEOUT' ? `no answer within ${req.timeoutMs} ms (${messageOf(err)})` : messageOf(err);
      throw new RequestError(code, message);
    }
    let body: BodyRead;
    try {
      body = await readBody(res.body, req.keepText ? maxBody : 0, maxBody, deadline, req.timeoutMs);
    } catch (err) {
      if (err instanceof RequestError) throw err;
      throw new RequestError(errorCode(err), messageOf(err));
    }
    const { text, bytes, truncated } = body;
    const durationMs = performance.now() - start;
    return { status: res.statusCode, headers: res.headers, text, bytes, truncated, durationMs };
  }

  return {
    send,
    async destroy() {
      await agent.destroy();
    },
    async close() {
      await agent.close();
    },
  };
}
