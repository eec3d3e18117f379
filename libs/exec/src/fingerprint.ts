import type { TestRecord } from '@capi/core';
import { needsEscape } from './result.js';

/**
 * A test's fingerprint, `<request>.<expect>`: 8 hex digits of FNV-1a (32 bit) over what is sent
 * (method, url, headers, body, vars, timeout) and 8 over what is checked (expect,
 * enabled). Position (`seq`, `source`) is not part of it: resume matches by id, so a
 * row that only moved is unchanged. Two halves let a refused resume say what changed.
 */
export function fingerprint(rec: TestRecord): string {
  // hashJsonArray's hash of the two lists, item by item, without making the lists (issue 16).
  const r = rec.request;
  let sent = hashJson(OPEN, r.method);
  sent = hashJson(comma(sent), r.url);
  sent = hashJson(comma(sent), r.headers);
  sent = hashJson(comma(sent), r.body);
  sent = hashJson(comma(sent), rec.vars);
  sent = hashJson(comma(sent), rec.timeoutMs);
  // Flow fields only when present: journals of suites without flows keep their fingerprints.
  if (rec.flow !== undefined || rec.phase !== undefined) {
    sent = hashJson(comma(sent), rec.flow ?? null);
    sent = hashJson(comma(sent), rec.phase ?? null);
  }
  const e = rec.expect;
  let checked = hashJson(OPEN, e.status);
  checked = hashJson(comma(checked), e.body);
  checked = hashJson(comma(checked), e.json);
  checked = hashJson(comma(checked), e.maxMs);
  checked = hashJson(comma(checked), rec.enabled);
  if (rec.capture !== undefined) checked = hashJson(comma(checked), rec.capture);
  return `${hex8(close(sent))}.${hex8(close(checked))}`;
}

/** Two hex digits of each byte value. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * The hex digits by byte from a table: a hash over 2^31 is no small integer, and its
 * toString(16) was a third of the fingerprint's cost (issue 16).
 */
function hex8(h: number): string {
  return (HEX[h >>> 24] as string) + HEX[(h >>> 16) & 255] + HEX[(h >>> 8) & 255] + HEX[h & 255];
}

// FNV-1a rather than a cryptographic hash: it only has to notice an edited test, and it
// is several times cheaper per test than SHA-1 through node:crypto. The hash is core's
// fnv1a over JSON.stringify(items), taken as the text is made, piece by piece, without
// making it: most pieces are strings that need no escape, `null` and `{}` (issue 16).
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnvText(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

const QUOTE = 34;

/** An object JSON.stringify writes as `{}`: a plain one with no own enumerable key. */
function isEmptyPlain(v: object): boolean {
  if (Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  for (const k in v) if (Object.hasOwn(v, k)) return false;
  return true;
}

/** The hash continued over the JSON text of `v` as an item of an array. */
function hashJson(h: number, v: unknown): number {
  if (typeof v === 'string') {
    if (needsEscape(v)) return fnvText(h, JSON.stringify(v));
    return Math.imul(fnvText(Math.imul(h ^ QUOTE, FNV_PRIME), v) ^ QUOTE, FNV_PRIME);
  }
  if (v === null || v === undefined) return fnvText(h, 'null');
  if (typeof v === 'boolean') return fnvText(h, v ? 'true' : 'false');
  if (typeof v === 'object' && isEmptyPlain(v)) return fnvText(h, '{}');
  // an array item JSON.stringify cannot write (a function) is written `null`
  return fnvText(h, JSON.stringify(v) ?? 'null');
}

/** The hash after `[`, after a `,`, and at `]` (the value, unsigned). */
const OPEN = Math.imul(FNV_OFFSET ^ 91, FNV_PRIME);
const comma = (h: number): number => Math.imul(h ^ 44, FNV_PRIME);
const close = (h: number): number => Math.imul(h ^ 93, FNV_PRIME) >>> 0;

/** fnv1a(JSON.stringify(items)), without the text. */
export function hashJsonArray(items: readonly unknown[]): number {
  let h = OPEN;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) h = comma(h);
    h = hashJson(h, items[i]);
  }
  return close(h);
}

/** What differs between two fingerprints, in words. */
export function describeChange(before: string, after: string): string {
  const [br, be] = before.split('.');
  const [ar, ae] = after.split('.');
  const parts: string[] = [];
  if (br !== ar) parts.push('request');
  if (be !== ae) parts.push('expectations');
  return parts.length ? `${parts.join(' and ')} changed` : 'changed';
}
