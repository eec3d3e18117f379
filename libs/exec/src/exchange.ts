import { monotonicMs } from '@capi/core';
import { type BodyDecoder, codings, createBodyDecoder, type Decoded, unknownCoding } from './decode-body.js';

/**
 * One request's side of undici's dispatch: the answer's status, the headers capi reads,
 * and the body kept up to --max-body (decoded as it arrives when it has a Content-Encoding).
 */

/** A request that got no usable answer; `code` is what the result record shows. */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** False when the HTTP client refused the request before sending it: trying again cannot help. */
    readonly sent = true,
    /** The raw undici or system code (`UND_ERR_CONNECT_TIMEOUT`), for the retry rule. */
    readonly detail: string | null = null,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** Response headers capi reads (Retry-After, rate-limit hints, Content-Encoding): only these are turned into strings. */
function wanted(name: Buffer): string | null {
  const c = (name[0] as number) | 0x20;
  // r(etry-after, ratelimit*), x(-ratelimit-*, -rate-limit-*), c(ontent-encoding), any case:
  // every other header is skipped without decoding it.
  if (c !== 0x72 && c !== 0x78 && (c !== 0x63 || name.length !== 16)) return null;
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

type PickedHeaders = Record<string, string | string[] | undefined>;

/**
 * The headers of an answer with none that capi reads (most answers): one shared object,
 * never written to, so that the rate-limit hints are not looked for in it (issue 16).
 */
export const NO_HEADERS: PickedHeaders = Object.freeze({});

export function pickHeaders(raw: Buffer[] | null): PickedHeaders {
  if (!raw) return NO_HEADERS;
  let out: PickedHeaders | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = wanted(raw[i] as Buffer);
    if (name === null) continue;
    out ??= {};
    const value = (raw[i + 1] as Buffer).toString('latin1');
    const had = out[name];
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return out ?? NO_HEADERS;
}

/**
 * One request, driven by undici's dispatch callbacks: no response stream, no promise per
 * callback. Keeps up to `keep` bytes of the body, counts all of them, and stops at the deadline.
 */
export class Exchange {
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
    if (monotonicMs() > this.deadline)
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

  /** The body is in a coding capi-exec cannot decode (not a corrupt body of one it can). */
  undecodable(): boolean {
    return this.codings.length > 0 && unknownCoding(this.codings) !== null;
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
