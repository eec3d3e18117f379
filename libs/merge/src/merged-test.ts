import type { CheckFailure, ResultError } from '@capi/core';

/** A merged status: a result status, or `missing` for a suite id that has no result. */
export type MergedStatus = 'passed' | 'failed' | 'error' | 'skipped' | 'missing';

/**
 * What merge keeps per distinct id: the winning record's fields (all but `fp`) and
 * what the merge adds, so memory grows with the number of ids and not with the bytes read. `failures` and `error` are kept whole
 * (they are small, and only failed tests have them) so the merged NDJSON stays a valid
 * result stream.
 */
export interface MergedTest {
  id: string;
  name: string;
  status: MergedStatus;
  /** Tries summed over every record of this id (retries and reruns). */
  attempts: number;
  /** How many result records this id had (0 when missing). */
  records: number;
  durationMs: number;
  httpStatus: number | null;
  /** The winning record's `response.bytes`, when it had one. */
  responseBytes: number | null;
  failures: CheckFailure[] | null;
  error: ResultError | null;
  batch: string | null;
  tags: string[];
  /** Epoch ms of the winning record's start; NaN when unknown. */
  startedAtMs: number;
  /** The id passed in the end after failing or erroring before (a record or a retried attempt). */
  flaky: boolean;
  /** An earlier record of this id failed or errored. */
  hadBad: boolean;
  runId: string | null;
  worker: number | null;
  shard: string | null;
  /** The machine of the winning record (`host`), when it names one. */
  host: string | null;
  /** The test's flow, and the run of it that gave the winning result (0: no result yet). */
  flow: string | null;
  flowRun: number;
}

/** A test counts as run when it has a result that is not skipped. */
export function ran(t: MergedTest): boolean {
  return t.status === 'passed' || t.status === 'failed' || t.status === 'error';
}

/** One line for a person: the failed checks, or the error. */
export function failureText(t: MergedTest, max = 300): string {
  if (t.status === 'missing') return 'missing: no result recorded';
  const parts: string[] = [];
  for (const f of t.failures ?? []) parts.push(`${f.check}: expected ${f.expected}, got ${f.actual}`);
  const text = parts.join('; ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function errorText(t: MergedTest): string {
  return t.error ? `${t.error.code}: ${t.error.message}` : '';
}

/** The winning record's response: `{status, bytes}` as capi-exec wrote it. */
function responseOf(t: MergedTest): { status: number; bytes?: number } | null {
  if (t.httpStatus === null) return null;
  return t.responseBytes === null ? { status: t.httpStatus } : { status: t.httpStatus, bytes: t.responseBytes };
}

/**
 * The merged test as a full result record (docs/formats.md: every field but `fp`, which
 * only capi-exec's resume reads), plus `flaky` and `records`.
 */
export function toResultRecord(t: MergedTest) {
  return {
    id: t.id,
    name: t.name,
    status: t.status,
    attempts: t.attempts,
    startedAt: Number.isNaN(t.startedAtMs) ? null : new Date(t.startedAtMs).toISOString(),
    durationMs: t.durationMs,
    response: responseOf(t),
    failures: t.failures ?? [],
    error: t.error,
    batch: t.batch,
    worker: t.worker,
    runId: t.runId,
    tags: t.tags,
    shard: t.shard,
    // only where a result named its machine (capi-launch --hosts), as capi-exec writes it
    ...(t.host === null ? {} : { host: t.host }),
    flaky: t.flaky,
    records: t.records,
    // flow fields only on flow rows, as capi-exec writes them
    ...(t.flow === null ? {} : { flow: t.flow }),
    ...(t.flowRun > 1 ? { flowRun: t.flowRun } : {}),
  };
}
