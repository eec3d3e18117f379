import type { CheckFailure, ResultError } from '@capi/core';

/** A merged status: a result status, or `missing` for a suite id that has no result. */
export type MergedStatus = 'passed' | 'failed' | 'error' | 'skipped' | 'missing';

/**
 * What merge keeps per distinct id: only what the reports need, so memory grows with
 * the number of ids and not with the bytes read. `failures` and `error` are kept whole
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

/** The merged test as a result record (docs/formats.md), plus `flaky` and `records`. */
export function toResultRecord(t: MergedTest) {
  return {
    id: t.id,
    name: t.name,
    status: t.status,
    attempts: t.attempts,
    startedAt: Number.isNaN(t.startedAtMs) ? null : new Date(t.startedAtMs).toISOString(),
    durationMs: t.durationMs,
    response: t.httpStatus === null ? null : { status: t.httpStatus },
    failures: t.failures ?? [],
    error: t.error,
    batch: t.batch,
    worker: t.worker,
    runId: t.runId,
    tags: t.tags,
    shard: t.shard,
    flaky: t.flaky,
    records: t.records,
  };
}
