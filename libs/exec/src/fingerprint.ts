import { fnv1a, type TestRecord } from '@capi/core';

/**
 * A test's fingerprint, `<request>.<expect>`: 8 hex digits of FNV-1a (32 bit) over what is sent
 * (method, url, headers, body, vars, timeout) and 8 over what is checked (expect,
 * enabled). Position (`seq`, `source`) is not part of it: resume matches by id, so a
 * row that only moved is unchanged. Two halves let a refused resume say what changed.
 */
export function fingerprint(rec: TestRecord): string {
  const r = rec.request;
  const sent: unknown[] = [r.method, r.url, r.headers, r.body, rec.vars, rec.timeoutMs];
  const e = rec.expect;
  const checked: unknown[] = [e.status, e.body, e.json, e.maxMs, rec.enabled];
  // Flow fields only when present: journals of suites without flows keep their fingerprints.
  if (rec.flow !== undefined || rec.phase !== undefined) sent.push(rec.flow ?? null, rec.phase ?? null);
  if (rec.capture !== undefined) checked.push(rec.capture);
  const req = JSON.stringify(sent);
  const exp = JSON.stringify(checked);
  return `${hash8(req)}.${hash8(exp)}`;
}

/** Two hex digits of each byte value. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// FNV-1a rather than a cryptographic hash: it only has to notice an edited test, and it
// is several times cheaper per test than SHA-1 through node:crypto. The digits by byte
// from a table: a hash over 2^31 is no small integer, and its toString(16) was a third of
// the fingerprint's cost (issue 16).
function hash8(text: string): string {
  const h = fnv1a(text);
  return (HEX[h >>> 24] as string) + HEX[(h >>> 16) & 255] + HEX[(h >>> 8) & 255] + HEX[h & 255];
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
