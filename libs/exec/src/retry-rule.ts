/**
 * When a test may be tried again (docs/capi-exec.md, "Retries"). The rule of undici's
 * RetryHandler and of careful clients: idempotent methods are retried after an error; a
 * request that is not idempotent (POST, PATCH, anything else) only when it provably never
 * reached the server (the connection was refused, the name did not resolve, the TLS
 * handshake or the TCP connect failed), or the API asked it to be sent again (a 429 or 503
 * with Retry-After), unless the test carries an `Idempotency-Key` header or `--retry-unsafe`
 * is given. A POST sent twice may create two orders.
 */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * Answers that are the infrastructure's, not the API's: a gateway that could not reach it
 * (502, 504), a service unavailable (503), a rate limit (429). They are retried under the
 * rule above and are an `error` if they persist; every other status is the API's answer,
 * judged by the checks (a 500 where 200 was expected is a `failed` test).
 */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Result codes after which nothing reached the server. */
const NOT_REACHED_CODES = new Set(['ECONNREFUSED', 'DNS', 'TLS']);
/** Raw undici/system codes of a connection that was never made (mapped to TIMEOUT or others). */
const NOT_REACHED_DETAIL = new Set(['UND_ERR_CONNECT_TIMEOUT', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

export function neverReached(code: string, detail: string | null): boolean {
  return NOT_REACHED_CODES.has(code) || (detail !== null && NOT_REACHED_DETAIL.has(detail));
}

/** exchange.ts's detail of a body in a Content-Encoding capi-exec cannot decode. */
export const UNKNOWN_CODING = 'UNKNOWN_CODING';

/**
 * Raw codes of an answer the same request gets again from the same server: headers over
 * node's limit, a body in a coding capi-exec cannot decode. The server's make-up, not bad
 * luck on the way: a retry only sends the request (and its load) again for the same error.
 */
const SAME_AGAIN_DETAIL = new Set(['UND_ERR_HEADERS_OVERFLOW', UNKNOWN_CODING]);

export const answersTheSameAgain = (detail: string | null): boolean => detail !== null && SAME_AGAIN_DETAIL.has(detail);

export const sameAgainNote = 'not retried: the same request gets the same answer from this server';

function hasIdempotencyKey(headers: Record<string, string>): boolean {
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'idempotency-key') return true;
  return false;
}

/** Whether sending this request twice is harmless: an idempotent method, an Idempotency-Key, or --retry-unsafe. */
export function safeToRepeat(method: string, headers: Record<string, string>, retryUnsafe: boolean): boolean {
  return retryUnsafe || IDEMPOTENT_METHODS.has(method.toUpperCase()) || hasIdempotencyKey(headers);
}

export const notRetriedNote = (method: string) =>
  `not retried: ${method.toUpperCase()} is not idempotent and the request may have reached the server (an Idempotency-Key header or --retry-unsafe allows retries)`;
