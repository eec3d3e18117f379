import {
  cutText,
  DEBUG_BODY_BYTES,
  DEBUG_HEADER_CHARS,
  DEBUG_MAX_HEADERS,
  DEBUG_URL_CHARS,
  type HeaderPair,
  isCredentialName,
  type TestDebug,
  type TestRecord,
} from '@capi/core';
import type { HttpAnswer, OutgoingRequest } from './http-client.js';
import { REDACTED } from './redact.js';

/**
 * `--trace`: which tests print their request and response on stderr, and the `debug`
 * part of a failed or error result (docs/formats.md), with secrets redacted.
 */

/** Bytes of a traced test's response body kept for stderr (within --max-body). */
export const TRACE_BODY_BYTES = 64 * 1024;

export interface TraceSelector {
  ids: Set<string>;
  tags: Set<string>;
  /** Every test that ends failed or error. */
  failed: boolean;
}

/** `--trace` values: an id, `tag:NAME`, or the word `failed`. */
export function parseTrace(values: string[]): TraceSelector | null {
  if (values.length === 0) return null;
  const sel: TraceSelector = { ids: new Set(), tags: new Set(), failed: false };
  for (const v of values) {
    if (v === 'failed') sel.failed = true;
    else if (v.startsWith('tag:') && v.length > 4) sel.tags.add(v.slice(4));
    else sel.ids.add(v);
  }
  return sel;
}

/** Traced whatever its outcome: named by id or by one of its tags. */
export function tracedUpFront(sel: TraceSelector | null, rec: TestRecord): boolean {
  if (!sel) return false;
  if (sel.ids.has(rec.id)) return true;
  for (const t of rec.tags) if (sel.tags.has(t)) return true;
  return false;
}

/**
 * Response headers that carry credentials: the credential request headers, cookies being
 * set, and any name that says token, secret, session, password, api key or credential
 * (not `www-authenticate`: a challenge, which a person debugging a 401 needs).
 */
export function credentialLike(name: string): boolean {
  // The challenge of a 401 names no secret and is what a person debugging it needs.
  return name.toLowerCase() !== 'www-authenticate' && isCredentialName(name);
}

type Clean = (text: string) => string;

function cut(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  // Cut by bytes; a character split at the end decodes as U+FFFD, which is dropped.
  return Buffer.from(text)
    .subarray(0, bytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

function pairs(entries: Iterable<[string, string]>, clean: Clean): HeaderPair[] {
  const out: HeaderPair[] = [];
  for (const [name, value] of entries) {
    if (out.length === DEBUG_MAX_HEADERS) break;
    const shown = credentialLike(name) ? REDACTED : clean(value);
    out.push([name, shown.length > DEBUG_HEADER_CHARS ? `${shown.slice(0, DEBUG_HEADER_CHARS)}…` : shown]);
  }
  return out;
}

function* rawPairs(raw: Buffer[] | null): Iterable<[string, string]> {
  if (!raw) return;
  for (let i = 0; i + 1 < raw.length; i += 2)
    yield [(raw[i] as Buffer).toString('latin1'), (raw[i + 1] as Buffer).toString('latin1')];
}

/** The request as sent and the answer as received, redacted, bodies cut to `bodyBytes`. */
export function makeDebug(
  req: OutgoingRequest,
  answer: HttpAnswer | null,
  clean: Clean,
  bodyBytes = DEBUG_BODY_BYTES,
): TestDebug {
  const fullBody = req.body === null ? null : clean(req.body);
  const reqBody = fullBody === null ? null : cut(fullBody, bodyBytes);
  const debug: TestDebug = {
    request: {
      method: req.method,
      // Redacted whole, then cut: a captured value may make the URL any length.
      url: cutText(clean(req.origin + req.path), DEBUG_URL_CHARS),
      headers: pairs(Object.entries(req.headers), clean),
      body: reqBody,
      bodyBytes: req.body === null ? 0 : Buffer.byteLength(req.body),
      bodyCut: fullBody !== reqBody,
    },
    response: null,
  };
  if (answer) {
    // A little more than is shown, so that a secret across the cut is still redacted whole.
    const sample = Buffer.concat(answer.sample).subarray(0, bodyBytes + 1024);
    const text = clean(sample.toString('utf8'));
    const body = cut(text, bodyBytes);
    debug.response = {
      status: answer.status,
      headers: pairs(rawPairs(answer.rawHeaders), clean),
      body,
      bodyBytes: answer.bytes,
      bodyCut: body !== text || sample.length < answer.bytes,
    };
  }
  return debug;
}
