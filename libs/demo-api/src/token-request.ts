/** The parts of an OAuth2 token request (RFC 6749 section 4.4.2) the demo API reads. */
export interface TokenRequest {
  grantType: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  /** Whether the client authenticated with HTTP Basic (then a failure answers `WWW-Authenticate: Basic`). */
  basic: boolean;
}

export type ParsedTokenRequest = { ok: true; request: TokenRequest } | { ok: false; description: string };

const fields = ['grant_type', 'client_id', 'client_secret'] as const;
type Fields = Partial<Record<(typeof fields)[number], string>>;

/**
 * Reads a token request from a form-encoded or JSON body and an optional Basic
 * `Authorization` header. Anything malformed is an `invalid_request` (RFC 6749 section 5.2):
 * an unknown content type, a repeated parameter, a non-string field, a broken Basic header,
 * or two client authentication methods at once.
 */
export function parseTokenRequest(
  contentType: string | undefined,
  body: string,
  authorization: string | undefined,
): ParsedTokenRequest {
  const params = parseBody(mediaType(contentType), body);
  if ('description' in params) return failed(params.description);
  // Another scheme (a suite-wide `Authorization: Bearer …` that also reaches the login request)
  // is no client authentication here: it is ignored, and the body's credentials count.
  if (authorization === undefined || !/^basic(?: |$)/i.test(authorization)) {
    return ok({ ...fromFields(params), basic: false });
  }
  const basic = parseBasic(authorization);
  if (basic === null) return failed('the Authorization header is not valid HTTP Basic credentials');
  if (params.client_secret !== undefined) return failed('more than one client authentication method');
  if (params.client_id !== undefined && params.client_id !== basic.id) {
    return failed('client_id in the body differs from the one in the Authorization header');
  }
  return ok({ grantType: params.grant_type, clientId: basic.id, clientSecret: basic.secret, basic: true });
}

function ok(request: TokenRequest): ParsedTokenRequest {
  return { ok: true, request };
}

function failed(description: string): ParsedTokenRequest {
  return { ok: false, description };
}

function fromFields(params: Fields): Omit<TokenRequest, 'basic'> {
  return { grantType: params.grant_type, clientId: params.client_id, clientSecret: params.client_secret };
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function parseBody(type: string, body: string): Fields | { description: string } {
  if (type === 'application/x-www-form-urlencoded' || (type === '' && body === '')) return parseForm(body);
  if (type === 'application/json' || type.endsWith('+json')) return parseJson(body);
  return { description: `Content-Type must be application/x-www-form-urlencoded or application/json, got "${type}"` };
}

function parseForm(body: string): Fields | { description: string } {
  const form = new URLSearchParams(body);
  const out: Fields = {};
  for (const name of fields) {
    const values = form.getAll(name);
    if (values.length > 1) return { description: `parameter ${name} is repeated` };
    if (values.length === 1) out[name] = values[0]!;
  }
  return out;
}

function parseJson(body: string): Fields | { description: string } {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { description: 'the body is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { description: 'the JSON body must be an object' };
  }
  const out: Fields = {};
  for (const name of fields) {
    const field = (value as Record<string, unknown>)[name];
    if (field === undefined) continue;
    if (typeof field !== 'string') return { description: `${name} must be a string` };
    out[name] = field;
  }
  return out;
}

/**
 * `Basic base64(id:secret)`, where id and secret are each form-encoded first
 * (RFC 6749 section 2.3.1); a client that does not encode them still works unless they hold `%` or `+`.
 */
function parseBasic(header: string): { id: string; secret: string } | null {
  const m = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  return { id: formDecode(text.slice(0, colon)), secret: formDecode(text.slice(colon + 1)) };
}

function formDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
