import { HTTP_METHODS, RESULT_STATUSES, type TestRecord } from './records.js';

/**
 * Structural checks for records read from NDJSON. Each returns null when the value is
 * well-formed, or a message that names the offending field.
 */

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNullableStr = (v: unknown) => v === null || v === undefined || typeof v === 'string';
const isNullableNum = (v: unknown) => v === null || v === undefined || (typeof v === 'number' && Number.isFinite(v));
const isStrMap = (v: unknown) => isObj(v) && Object.values(v).every(isStr);

export function validateTestRecord(v: unknown): string | null {
  if (!isObj(v)) return 'a test record must be a JSON object';
  if (!isStr(v.id) || v.id === '') return 'field "id": must be a non-empty string';
  if (v.name !== undefined && !isStr(v.name)) return 'field "name": must be a string';
  if (v.seq !== undefined && !(Number.isInteger(v.seq) && (v.seq as number) >= 0))
    return 'field "seq": must be a whole number >= 0';
  const req = v.request;
  if (!isObj(req)) return 'field "request": must be an object';
  if (!isStr(req.method) || !(HTTP_METHODS as readonly string[]).includes(req.method))
    return `field "request.method": unknown method ${JSON.stringify(req.method)}`;
  if (!isStr(req.url) || req.url === '') return 'field "request.url": must be a non-empty string';
  if (req.headers !== undefined && !isStrMap(req.headers))
    return 'field "request.headers": must be an object of string values';
  if (!isNullableStr(req.body)) return 'field "request.body": must be a string or null';
  const exp = v.expect;
  if (exp !== undefined) {
    if (!isObj(exp)) return 'field "expect": must be an object';
    if (exp.status !== undefined && !isStr(exp.status)) return 'field "expect.status": must be a string';
    if (!isNullableStr(exp.body)) return 'field "expect.body": must be a string or null';
    if (!isNullableStr(exp.json)) return 'field "expect.json": must be JSON text or null';
    if (!isNullableNum(exp.maxMs)) return 'field "expect.maxMs": must be a number or null';
  }
  if (!isNullableNum(v.timeoutMs)) return 'field "timeoutMs": must be a number or null';
  if (v.tags !== undefined && !(Array.isArray(v.tags) && v.tags.every(isStr)))
    return 'field "tags": must be an array of strings';
  if (v.enabled !== undefined && typeof v.enabled !== 'boolean') return 'field "enabled": must be true or false';
  if (v.vars !== undefined && !isStrMap(v.vars)) return 'field "vars": must be an object of string values';
  return null;
}

/** Fills the optional fields of a validated test record with their defaults. */
export function normalizeTestRecord(v: Obj, seq: number): TestRecord {
  const req = v.request as Obj;
  const exp = (v.expect ?? {}) as Obj;
  return {
    id: v.id as string,
    name: (v.name as string | undefined) || (v.id as string),
    seq: (v.seq as number | undefined) ?? seq,
    request: {
      method: req.method as TestRecord['request']['method'],
      url: req.url as string,
      headers: (req.headers as Record<string, string> | undefined) ?? {},
      body: (req.body as string | null | undefined) ?? null,
    },
    expect: {
      status: (exp.status as string | undefined) ?? '2xx',
      body: (exp.body as string | null | undefined) ?? null,
      json: (exp.json as string | null | undefined) ?? null,
      maxMs: (exp.maxMs as number | null | undefined) ?? null,
    },
    timeoutMs: (v.timeoutMs as number | null | undefined) ?? null,
    tags: (v.tags as string[] | undefined) ?? [],
    enabled: (v.enabled as boolean | undefined) ?? true,
    vars: (v.vars as Record<string, string> | undefined) ?? {},
    source: isObj(v.source) ? (v.source as unknown as TestRecord['source']) : null,
  };
}

export function validateResultRecord(v: unknown): string | null {
  if (!isObj(v)) return 'a result record must be a JSON object';
  if (!isStr(v.id) || v.id === '') return 'field "id": must be a non-empty string';
  if (!isStr(v.status) || !(RESULT_STATUSES as readonly string[]).includes(v.status))
    return `field "status": must be one of ${RESULT_STATUSES.join(', ')}`;
  if (v.attempts !== undefined && !(Number.isInteger(v.attempts) && (v.attempts as number) >= 0))
    return 'field "attempts": must be a whole number';
  if (!isNullableNum(v.durationMs)) return 'field "durationMs": must be a number';
  if (v.failures !== undefined && !Array.isArray(v.failures)) return 'field "failures": must be an array';
  if (v.error !== undefined && v.error !== null && !isObj(v.error)) return 'field "error": must be an object or null';
  return null;
}
