import type { CheckFailure, ResultError } from '@capi/core';
import type { MergedStatus, MergedTest } from './merged-test.js';

/**
 * The merged tests, one row per id, stored by column: numbers in typed arrays (never
 * traced by the garbage collector), strings and the rare failure details in plain
 * arrays. A million ids cost a few arrays instead of a million objects, which kept the
 * old-space collector busy. `values()` and `get()` hand out MergedTest snapshots.
 */

const STATUSES: MergedStatus[] = ['passed', 'failed', 'error', 'skipped', 'missing'];
export const STATUS_CODE: Record<MergedStatus, number> = { passed: 0, failed: 1, error: 2, skipped: 3, missing: 4 };
export const FLAG_FLAKY = 1;
export const FLAG_BAD = 2;

function grow<T extends Float64Array | Int32Array | Uint8Array | Uint32Array>(a: T, size: number): T {
  const next = new (a.constructor as new (n: number) => T)(size);
  next.set(a);
  return next;
}

export class TestTable {
  private readonly index = new Map<string, number>();
  private capacity = 1024;
  size = 0;
  ids: string[] = [];
  names: string[] = [];
  batches: Array<string | null> = [];
  tags: string[][] = [];
  runIds: Array<string | null> = [];
  shards: Array<string | null> = [];
  /** Failed checks and errors by row; most rows have none. */
  failures = new Map<number, CheckFailure[]>();
  errors = new Map<number, ResultError>();
  status = new Uint8Array(this.capacity);
  flags = new Uint8Array(this.capacity);
  attempts = new Uint32Array(this.capacity);
  records = new Uint32Array(this.capacity);
  /** -1: no HTTP status; -1 worker: none. */
  http = new Int32Array(this.capacity);
  worker = new Int32Array(this.capacity);
  duration = new Float64Array(this.capacity);
  /** NaN: unknown. */
  start = new Float64Array(this.capacity);

  indexOf(id: string): number | undefined {
    return this.index.get(id);
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  /** Appends a row for a new id and returns its index; the caller fills it. */
  add(id: string): number {
    if (this.size === this.capacity) this.resize(this.capacity * 2);
    const i = this.size++;
    this.index.set(id, i);
    this.ids.push(id);
    this.names.push(id);
    this.batches.push(null);
    this.tags.push([]);
    this.runIds.push(null);
    this.shards.push(null);
    this.http[i] = -1;
    this.worker[i] = -1;
    this.start[i] = Number.NaN;
    return i;
  }

  private resize(n: number): void {
    this.capacity = n;
    this.status = grow(this.status, n);
    this.flags = grow(this.flags, n);
    this.attempts = grow(this.attempts, n);
    this.records = grow(this.records, n);
    this.http = grow(this.http, n);
    this.worker = grow(this.worker, n);
    this.duration = grow(this.duration, n);
    this.start = grow(this.start, n);
  }

  statusOf(i: number): MergedStatus {
    return STATUSES[this.status[i] as number] as MergedStatus;
  }

  view(i: number): MergedTest {
    const http = this.http[i] as number;
    const worker = this.worker[i] as number;
    const flags = this.flags[i] as number;
    return {
      id: this.ids[i] as string,
      name: this.names[i] as string,
      status: this.statusOf(i),
      attempts: this.attempts[i] as number,
      records: this.records[i] as number,
      durationMs: this.duration[i] as number,
      httpStatus: http < 0 ? null : http,
      failures: this.failures.get(i) ?? null,
      error: this.errors.get(i) ?? null,
      batch: this.batches[i] ?? null,
      tags: this.tags[i] as string[],
      startedAtMs: this.start[i] as number,
      flaky: (flags & FLAG_FLAKY) !== 0,
      hadBad: (flags & FLAG_BAD) !== 0,
      runId: this.runIds[i] ?? null,
      worker: worker < 0 ? null : worker,
      shard: this.shards[i] ?? null,
    };
  }

  get(id: string): MergedTest | undefined {
    const i = this.index.get(id);
    return i === undefined ? undefined : this.view(i);
  }

  *values(): IterableIterator<MergedTest> {
    for (let i = 0; i < this.size; i++) yield this.view(i);
  }
}
