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
