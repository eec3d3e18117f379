import type { CheckFailure, ResultError, ResultRecord, ResultStatus, TestRecord } from '@capi/core';
import type { HttpAnswer, OutgoingRequest } from './http-client.js';

/** Where results come from: copied into every record (docs/formats.md). */
export interface ResultOrigin {
  batch: string | null;
  worker: number | null;
  runId: string | null;
  shard: string | null;
  /** `--host`: the machine the worker ran on (capi-launch `--hosts`), recorded when given. */
  host?: string | null;
}

/** A result record plus `fp`, the fingerprint of the test it ran (see fingerprint.ts), when journaling. */
export type ExecResult = ResultRecord & { fp?: string };

export interface Outcome {
  status: ResultStatus;
  attempts: number;
  startedAt: number;
  durationMs: number;
  /** `bytes`: the body on the wire; `decodedBytes`: decoded, when it had a Content-Encoding a check read. */
  response: { status: number; bytes: number; decodedBytes?: number } | null;
  failures: CheckFailure[];
  error: ResultError | null;
  /** Flows: what the test's captures took from its final answer (capture.ts). */
  captured?: Record<string, string>;
  /** The final attempt as sent and answered (answer null: none came), for `debug` and `--trace`. */
  exchange?: { request: OutgoingRequest; answer: HttpAnswer | null };
}

// Many results start in the same millisecond at high rates: format each millisecond once.
let isoMs = Number.NaN;
let isoText = '';
function iso(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** Builds the record with the key order of docs/formats.md. */
export function makeResult(
  rec: TestRecord,
  o: Outcome,
  origin: ResultOrigin,
  fp?: string,
  flowRun?: number,
): ExecResult {
  const result: ExecResult = {
    id: rec.id,
    name: rec.name,
    status: o.status,
    attempts: o.attempts,
    startedAt: iso(o.startedAt),
    durationMs: Math.round(o.durationMs * 10) / 10,
    response: o.response,
    failures: o.failures,
    error: o.error,
    batch: origin.batch,
    worker: origin.worker,
    runId: origin.runId,
    tags: rec.tags,
    shard: origin.shard,
  };
  if (origin.host) result.host = origin.host;
  // Flows (docs/formats.md): only on the rows that have them, before `fp`.
  if (rec.flow !== undefined) result.flow = rec.flow;
  if (rec.phase !== undefined) result.phase = rec.phase;
  if (flowRun !== undefined) result.flowRun = flowRun;
  if (fp !== undefined) result.fp = fp;
  return result;
}

/** A string JSON.stringify writes with escapes: a quote, a backslash, a control character or a surrogate (as capi-split's serialize.ts). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
/** Whether JSON.stringify writes the string with an escape (else it is the text in quotes). */
export const needsEscape = (s: string): boolean => NEEDS_ESCAPE.test(s);
const str = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);
/** A field that is a string, a number or null, as JSON.stringify writes it. */
const scalar = (v: string | number | null): string =>
  v === null ? 'null' : typeof v === 'string' ? str(v) : Number.isFinite(v) ? String(v) : 'null';
const isScalar = (v: unknown): v is string | number | null =>
  v === null || typeof v === 'string' || typeof v === 'number';

/** The keys of a result of a test with no flow fields, no host, no debug, and `fp`: what resultJson writes itself. */
const PLAIN_KEYS = 15;

/** How many keys a result has: counted, without an array of them per result (Object.keys). */
function keyCount(r: object): number {
  let n = 0;
  for (const _ in r) n++;
  return n;
}

/** Not any value a result holds: the texts below are made on the first result. */
const UNSET: unknown = Symbol('unset');
let textBatch = UNSET;
let textWorker = UNSET;
let textRunId = UNSET;
let textOrigin = '';
let textShard = UNSET;
let textShardFp = '';

/** `,"batch":…,"worker":…,"runId":…,"tags":`: the same in every result of a run, written once while it stays the same. */
function originText(batch: string | number | null, worker: string | number | null, runId: string | number | null) {
  if (batch !== textBatch || worker !== textWorker || runId !== textRunId) {
    textBatch = batch;
    textWorker = worker;
    textRunId = runId;
    textOrigin = `,"batch":${scalar(batch)},"worker":${scalar(worker)},"runId":${scalar(runId)},"tags":`;
  }
  return textOrigin;
}

/** `,"shard":…,"fp":`, likewise. */
function shardText(shard: string | number | null): string {
  if (shard !== textShard) {
    textShard = shard;
    textShardFp = `,"shard":${scalar(shard)},"fp":`;
  }
  return textShardFp;
}

/**
 * The result's JSON text, byte for byte what JSON.stringify writes (the journal and stdout
 * share it). A result of the common shape (journaled, no failure, error, debug, flow or
 * host) is written field by field, about half JSON.stringify's cost, which was the largest
 * piece of recording a result (issue 16); any other result, or one with a key this does
 * not know (counted), goes to JSON.stringify. The run's own fields (batch, worker, run id,
 * shard) are one text made once, and status, startedAt and fp (ASCII words and digits)
 * are quoted in place: a dozen pieces joined per result, not some thirty.
 */
export function resultJson(r: ExecResult): string {
  const res = r.response;
  if (
    r.fp === undefined ||
    r.failures.length > 0 ||
    r.error !== null ||
    (res !== null && (res.decodedBytes !== undefined || !Number.isFinite(res.status) || !Number.isFinite(res.bytes))) ||
    !Array.isArray(r.tags) ||
    !isScalar(r.batch) ||
    !isScalar(r.worker) ||
    !isScalar(r.runId) ||
    !isScalar(r.shard) ||
    needsEscape(r.status) ||
    needsEscape(r.startedAt) ||
    needsEscape(r.fp) ||
    keyCount(r) !== PLAIN_KEYS
  )
    return JSON.stringify(r);
  const response = res === null ? 'null' : `{"status":${res.status},"bytes":${res.bytes}}`;
  const tags = r.tags.length === 0 ? '[]' : JSON.stringify(r.tags);
  return `{"id":${str(r.id)},"name":${str(r.name)},"status":"${r.status}","attempts":${scalar(r.attempts)},"startedAt":"${r.startedAt}","durationMs":${scalar(r.durationMs)},"response":${response},"failures":[],"error":null${originText(r.batch, r.worker, r.runId)}${tags}${shardText(r.shard as string | null)}"${r.fp}"}`;
}
