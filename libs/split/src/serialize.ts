import type { TestRecord } from '@capi/core';

/**
 * A test record as one line of JSON, byte for byte what JSON.stringify gives (a unit test
 * holds it to that), about twice as fast: most strings need no escaping, and the record's
 * shape is known. Any string that might need escaping goes through JSON.stringify.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

const str = (v: string) => (NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`);
const nullableStr = (v: string | null) => (v === null ? 'null' : str(v));
const nullableNum = (v: number | null) => (v === null ? 'null' : JSON.stringify(v));

function strMap(map: Record<string, string>): string {
  let out = '';
  for (const key in map) out += `${out === '' ? '' : ','}${str(key)}:${str(map[key] as string)}`;
  return `{${out}}`;
}

function strArray(items: string[]): string {
  let out = '';
  for (const item of items) out += `${out === '' ? '' : ','}${str(item)}`;
  return `[${out}]`;
}

export function serializeTestRecord(r: TestRecord): string {
  const { request: q, expect: e, source } = r;
  // Flow rows are few next to plain tests, and their extra fields vary: JSON.stringify serves them.
  if (!Number.isSafeInteger(r.seq) || r.capture || r.flow || r.phase) return JSON.stringify(r);
  const src = source === null ? 'null' : `{"file":${str(source.file)},"line":${nullableNum(source.line)}}`;
  return (
    `{"id":${str(r.id)},"name":${str(r.name)},"seq":${r.seq},` +
    `"request":{"method":${str(q.method)},"url":${str(q.url)},"headers":${strMap(q.headers)},"body":${nullableStr(q.body)}},` +
    `"expect":{"status":${str(e.status)},"body":${nullableStr(e.body)},"json":${nullableStr(e.json)},"maxMs":${nullableNum(e.maxMs)}},` +
    `"timeoutMs":${nullableNum(r.timeoutMs)},"tags":${strArray(r.tags)},"enabled":${r.enabled},"vars":${strMap(r.vars)},"source":${src}}`
  );
}
