import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestContext } from './context.js';
import { maxTokenTtlS } from './options.js';
import { readBody } from './read-body.js';
import { sendJson } from './respond.js';
import type { Handler } from './routes.js';
import { parseTokenRequest } from './token-request.js';

// RFC 6749 section 5.1: token responses, and so their errors, must not be cached.
const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
const basicChallenge = { 'www-authenticate': 'Basic realm="demo", charset="UTF-8"' };

type TokenError = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type';

/** POST /auth/token: OAuth2 client credentials (RFC 6749 section 4.4), form or JSON, body or Basic. */
export async function issueToken(ctx: RequestContext): Promise<void> {
  const body = await readBody(ctx.req);
  const { headers } = ctx.req;
  const parsed = parseTokenRequest(headers['content-type'], body, headers.authorization);
  if (!parsed.ok) return refuse(ctx, 400, 'invalid_request', parsed.description);
  const { grantType, clientId, clientSecret } = parsed.request;
  if (grantType === undefined) return refuse(ctx, 400, 'invalid_request', 'grant_type is required');
  if (grantType !== 'client_credentials') {
    return refuse(ctx, 400, 'unsupported_grant_type', 'only client_credentials is supported');
  }
  const { options } = ctx.state;
  // Both compared in full, so the time taken says nothing about which one was wrong.
  const idOk = sameSecret(clientId ?? '', options.clientId);
  const secretOk = sameSecret(clientSecret ?? '', options.clientSecret);
  if (!idOk || !secretOk) return refuse(ctx, 401, 'invalid_client', 'client authentication failed');
  const ttlS = ttlFrom(ctx.url.searchParams.get('ttl'), options.tokenTtlS);
  const accessToken = ctx.state.tokens.issue(ttlS * 1000);
  ctx.state.auth.tokensIssued++;
  options.onTokenIssued?.(accessToken, ttlS);
  return sendJson(ctx, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: ttlS }, noStore);
}

function refuse(ctx: RequestContext, status: 400 | 401, error: TokenError, description: string): Promise<void> {
  const errors = ctx.state.auth.tokenErrors;
  errors[error] = (errors[error] ?? 0) + 1;
  const headers = status === 401 ? { ...noStore, ...basicChallenge } : noStore;
  return sendJson(ctx, status, { error, error_description: description }, headers);
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** `?ttl=` overrides the token TTL for one token; like the other knobs, a bad value is ignored. */
function ttlFrom(text: string | null, fallback: number): number {
  if (text === null || !/^\d{1,9}$/.test(text)) return fallback;
  const n = Number(text);
  return n >= 1 && n <= maxTokenTtlS ? n : fallback;
}

type BearerProblem = 'missing' | 'invalid' | 'expired';

/**
 * Answers 401 (or 400 for a malformed Bearer header) unless the request carries a valid,
 * unexpired issued token, and says whether the route may go on. RFC 6750 section 3.1: no
 * error code when no credentials came, `invalid_token` when a token is unknown or expired.
 */
function requireBearer(ctx: RequestContext): Promise<void> | true {
  const header = ctx.req.headers.authorization;
  if (header === undefined || !/^bearer(?: |$)/i.test(header)) return unauthorized(ctx, 'missing');
  const m = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!m) {
    ctx.state.auth.malformed++;
    const challenge = 'Bearer realm="demo", error="invalid_request", error_description="malformed Bearer credentials"';
    return sendJson(ctx, 400, { error: 'invalid_request' }, { 'www-authenticate': challenge });
  }
  const state = ctx.state.tokens.check(m[1]!);
  if (state === 'valid') return true;
  return unauthorized(ctx, state === 'expired' ? 'expired' : 'invalid');
}

/** The handler, run only for a request with a valid, unexpired token. */
export function withBearer(handler: Handler): Handler {
  return (ctx) => {
    const denied = requireBearer(ctx);
    return denied === true ? handler(ctx) : denied;
  };
}

const descriptions: Record<BearerProblem, string> = {
  missing: 'a Bearer token is required',
  invalid: 'the access token is unknown',
  expired: 'the access token expired',
};

/** A 401 for a missing or bad issued token, counted (GET /secure counts its own 401s in misc.ts). */
function unauthorized(ctx: RequestContext, problem: BearerProblem): Promise<void> {
  const auth = ctx.state.auth;
  auth.unauthorized[problem]++;
  const description = descriptions[problem];
  const challenge =
    problem === 'missing'
      ? 'Bearer realm="demo"'
      : `Bearer realm="demo", error="invalid_token", error_description="${description}"`;
  const error = problem === 'missing' ? 'unauthorized' : 'invalid_token';
  return sendJson(ctx, 401, { error, error_description: description }, { 'www-authenticate': challenge });
}
