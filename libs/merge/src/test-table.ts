import type { CheckFailure, ResultError } from '@capi/core';
import { IdIndex } from './id-index.js';
import { StringPool, TagPool } from './interner.js';
import type { MergedStatus, MergedTest } from './merged-test.js';

/**
 * The merged tests, one row per id, stored by column: numbers in typed arrays (never
 * traced by the garbage collector), strings and the rare failure details in plain
 * arrays. A million ids cost a few arrays instead of a million objects, which kept the
 * old-space collector busy. A row's batch, tag list, run id and shard are codes into
 * pools of distinct values (interner.ts). `values()` and `get()` hand out MergedTest
 * snapshots; the summary reads the columns directly.
 */

/** Status names by code. */
export const STATUSES: MergedStatus[] = ['passed', 'failed', 'error', 'skipped', 'missing'];
export const STATUS_CODE: Record<MergedStatus, number> = { passed: 0, failed: 1, error: 2, skipped: 3, missing: 4 };
export const FLAG_FLAKY = 1;
export const FLAG_BAD = 2;
/** The row has an entry in `failures` or `errors`. */
export const FLAG_DETAILS = 4;
/** The winning record never sent a request (no response, and no try or no time): no latency. */
export const FLAG_UNSENT = 8;

function grow<T extends Float64Array | Int32Array | Uint8Array | Uint16Array | Uint32Array>(a: T, size: number): T {
  const next = new (a.constructor as new (n: number) => T)(size);
  next.set(a);
  return next;
}

export class TestTable {
  private capacity = 1024;
  size = 0;
  readonly ids: string[] = [];
  private readonly index = new IdIndex(this.ids);
  names: string[] = [];
  readonly batchPool = new StringPool();
  readonly tagPool = new TagPool();
  readonly runIdPool = new StringPool();
  readonly shardPool = new StringPool();
  /** The machines results came from (`host`, capi-launch `--hosts`). */
  readonly hostPool = new StringPool();
  /** Flow names (flow-summary.ts). */
  readonly flowPool = new StringPool();
  /** Failed checks and errors by row; most rows have none. */
  failures = new Map<number, CheckFailure[]>();
  errors = new Map<number, ResultError>();
  /** Codes into the pools above; 0 is none. */
  batch = new Uint32Array(this.capacity);
  tags = new Uint32Array(this.capacity);
  runId = new Uint32Array(this.capacity);
  shard = new Uint32Array(this.capacity);
  host = new Uint32Array(this.capacity);
  flow = new Uint32Array(this.capacity);
  /** The winning record's `flowRun` (1: its first run; 0: none yet). */
  flowRun = new Uint16Array(this.capacity);
  status = new Uint8Array(this.capacity);
  flags = new Uint8Array(this.capacity);
  attempts = new Uint32Array(this.capacity);
  records = new Uint32Array(this.capacity);
  /** -1: no HTTP status; -1 worker: none. */
  http = new Int32Array(this.capacity);
  worker = new Int32Array(this.capacity);
  duration = new Float64Array(this.capacity);
  /** response.bytes; -1: none. */
  bytes = new Float64Array(this.capacity);
  /** NaN: unknown. */
  start = new Float64Array(this.capacity);

  indexOf(id: string): number | undefined {
    const i = this.index.find(id);
    return i < 0 ? undefined : i;
  }

  has(id: string): boolean {
    return this.index.find(id) >= 0;
  }

  /** Appends a row for a new id and returns its index; the caller fills it. */
  add(id: string): number {
    if (this.size === this.capacity) this.resize(this.capacity * 2);
    const i = this.size++;
    this.ids.push(id);
    this.index.insert(id, i);
    this.names.push(id);
    this.http[i] = -1;
    this.bytes[i] = -1;
    this.worker[i] = -1;
    this.start[i] = Number.NaN;
    return i;
  }

  private resize(n: number): void {
    this.capacity = n;
    this.batch = grow(this.batch, n);
    this.tags = grow(this.tags, n);
    this.runId = grow(this.runId, n);
    this.shard = grow(this.shard, n);
    this.host = grow(this.host, n);
    this.flow = grow(this.flow, n);
    this.flowRun = grow(this.flowRun, n);
    this.status = grow(this.status, n);
    this.flags = grow(this.flags, n);
    this.attempts = grow(this.attempts, n);
    this.records = grow(this.records, n);
    this.http = grow(this.http, n);
    this.worker = grow(this.worker, n);
    this.duration = grow(this.duration, n);
    this.bytes = grow(this.bytes, n);
    this.start = grow(this.start, n);
  }

  statusOf(i: number): MergedStatus {
    return STATUSES[this.status[i] as number] as MergedStatus;
  }

  view(i: number): MergedTest {
    const http = this.http[i] as number;
    const bytes = this.bytes[i] as number;
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
      responseBytes: bytes < 0 ? null : bytes,
      failures: this.failures.get(i) ?? null,
      error: this.errors.get(i) ?? null,
      batch: this.batchPool.values[this.batch[i] as number] ?? null,
      tags: this.tagPool.values[this.tags[i] as number] as string[],
      startedAtMs: this.start[i] as number,
      flaky: (flags & FLAG_FLAKY) !== 0,
      hadBad: (flags & FLAG_BAD) !== 0,
      runId: this.runIdPool.values[this.runId[i] as number] ?? null,
      worker: worker < 0 ? null : worker,
      shard: this.shardPool.values[this.shard[i] as number] ?? null,
      host: this.hostPool.values[this.host[i] as number] ?? null,
      flow: this.flowPool.values[this.flow[i] as number] ?? null,
      flowRun: this.flowRun[i] as number,
    };
  }

  get(id: string): MergedTest | undefined {
    const i = this.index.find(id);
    return i < 0 ? undefined : this.view(i);
  }

  *values(): IterableIterator<MergedTest> {
    for (let i = 0; i < this.size; i++) yield this.view(i);
  }
}
