import { COUNT_OF_STATUS, passRate, type TestCounts } from '@capi/core';
import { type Histogram, histogram, type Timeline, timeline } from './chart-data.js';
import { countFlows, type FlowCounts, type PhaseTally } from './flow-summary.js';
import type { MergeState } from './merge-state.js';
import { errorText, failureText, type MergedStatus, type MergedTest } from './merged-test.js';
import { reasonOf } from './reason.js';
import { selectRanks } from './select.js';
import { FLAG_FLAKY, FLAG_UNSENT, STATUS_CODE, STATUSES, type TestTable } from './test-table.js';

/** The counts of a merge: core's, without `done` (every test is there), with `missing`, `flaky` and `total`. */
export interface Counts extends Omit<TestCounts, 'done'> {
  total: number;
  missing: number;
  flaky: number;
}

/** The count a merged test of each status adds to (`error` → `errors`, as everywhere). */
export const countOf = (status: MergedStatus): Exclude<keyof Counts, 'total' | 'flaky'> =>
  status === 'missing' ? 'missing' : COUNT_OF_STATUS[status];

export interface GroupRow {
  key: string;
  counts: Counts;
  summedMs: number;
}

export interface FailureGroup {
  reason: string;
  count: number;
  examples: string[];
  /** The first example as it really was: its id, then the actual values or the error message. */
  example: string;
}

export interface Latency {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Everything the reports show about a merge, computed in one pass over the kept tests. */
export interface Summary {
  counts: Counts;
  /** Percent of judged tests (passed, failed, error, missing) that passed; null when none (core passRate). */
  passRate: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  wallMs: number;
  summedMs: number;
  /** Tests run per second of wall time. */
  throughput: number;
  /** Over tests that ran and sent a request. */
  latency: Latency;
  /** Tests that ran (counted in the totals) but never sent a request: left out of the latency stats. */
  notSent: number;
  slowest: Array<{ id: string; name: string; durationMs: number; status: MergedStatus }>;
  failureGroups: FailureGroup[];
  tags: GroupRow[];
  batches: GroupRow[];
  flaky: string[];
  missing: string[];
  recordsRead: number;
  superseded: number;
  /** Flows among the tests (null: none has a flow). */
  flows: FlowCounts | null;
  /** Setup and teardown results, apart from the tests. */
  phases: PhaseTally;
  /** Tests finished per time slice, for the throughput chart. */
  timeline: Timeline;
  /** Latency histogram: bucket upper bounds (ms) and counts. */
  histogram: Histogram;
}

export const emptyCounts = (): Counts => ({
  total: 0,
  passed: 0,
  failed: 0,
  errors: 0,
  skipped: 0,
  missing: 0,
  flaky: 0,
});

const MAX_GROUPS = 200;
const MAX_LIST = 1000;
const EXAMPLES = 5;

/** Per group key, in a flat array: total, a count per status code, flaky, summed ms. */
const FIELDS = 8;
const F_FLAKY = 6;
const F_SUMMED = 7;

class GroupAcc {
  readonly keys: string[] = [];
  private readonly index = new Map<string, number>();
  acc = new Float64Array(0);

  keyOf(key: string): number {
    let k = this.index.get(key);
    if (k === undefined) {
      k = this.keys.length;
      this.keys.push(key);
      this.index.set(key, k);
    }
    return k;
  }

  /** Called once all keys are known. */
  ready(): void {
    this.acc = new Float64Array(this.keys.length * FIELDS);
  }

  bump(k: number, status: number, flaky: boolean, durationMs: number): void {
    const o = k * FIELDS;
    const acc = this.acc;
    acc[o] = (acc[o] as number) + 1;
    acc[o + 1 + status] = (acc[o + 1 + status] as number) + 1;
    if (flaky) acc[o + F_FLAKY] = (acc[o + F_FLAKY] as number) + 1;
    // Only tests that ran (passed, failed, error) add their time.
    if (status <= STATUS_CODE.error) acc[o + F_SUMMED] = (acc[o + F_SUMMED] as number) + durationMs;
  }

  rows(): GroupRow[] {
    const rows: GroupRow[] = [];
    for (let k = 0; k < this.keys.length; k++) {
      const o = k * FIELDS;
      const a = this.acc;
      if (a[o] === 0) continue;
      const counts = emptyCounts();
      counts.total = a[o] as number;
      for (let s = 0; s < STATUSES.length; s++) counts[countOf(STATUSES[s] as MergedStatus)] = a[o + 1 + s] as number;
      counts.flaky = a[o + F_FLAKY] as number;
      rows.push({ key: this.keys[k] as string, counts, summedMs: a[o + F_SUMMED] as number });
    }
    return rows.sort((a, b) => a.key.localeCompare(b.key));
  }
}

/** The group key hides what varies (`got N`, `error TEMPLATE`); one real case shows it. */
function exampleOf(t: MergedTest): string {
  const text = t.status === 'error' ? errorText(t) : failureText(t);
  const cut = text.length > 300 ? `${text.slice(0, 299)}…` : text;
  return `${t.id}: ${cut}`;
}

/**
 * Failure reasons by what they are made of (table.failureKey: the status and the row's
 * failures and error as written), so that a failed row whose failures were seen before
 * is not read back and parsed (a million-row merge may hold tens of thousands). Bounded:
 * failures that differ on every row only miss.
 */
const MAX_REASON_KEYS = 10_000;

function addFailure(
  groups: Map<string, FailureGroup>,
  table: TestTable,
  i: number,
  reasons: Map<string, string | null>,
): void {
  let t: MergedTest | null = null;
  let reason: string | null;
  const key = table.failureKey(i);
  const known = key === null ? undefined : reasons.get(key);
  if (known !== undefined) reason = known;
  else {
    t = table.view(i);
    reason = reasonOf(t);
    if (key !== null) {
      if (reasons.size >= MAX_REASON_KEYS) reasons.clear();
      reasons.set(key, reason);
    }
  }
  if (reason === null) return;
  const name = groups.has(reason) || groups.size < MAX_GROUPS ? reason : 'other reasons';
  let g = groups.get(name);
  if (!g) {
    t ??= table.view(i);
    g = { reason: name, count: 0, examples: [], example: exampleOf(t) };
    groups.set(name, g);
  }
  g.count++;
  if (g.examples.length < EXAMPLES) g.examples.push(table.idOf(i));
}

function keepSlowest(slowest: number[], duration: Float64Array, i: number, n = 10): void {
  if (slowest.length === n && (duration[slowest[n - 1] as number] as number) >= (duration[i] as number)) return;
  slowest.push(i);
  slowest.sort((a, b) => (duration[b] as number) - (duration[a] as number));
  if (slowest.length > n) slowest.pop();
}

const PERCENTILES = [50, 90, 95, 99] as const;

/** Nearest-rank percentiles of the sampled durations (percentile.ts's rule), exact, all in one select. */
function latencies(duration: Float64Array, sampled: Uint8Array, size: number, n: number): Record<number, number> {
  const out: Record<number, number> = {};
  if (n === 0) {
    for (const p of PERCENTILES) out[p] = 0;
    return out;
  }
  const ranks = PERCENTILES.map((p) => Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1)));
  const found = selectRanks(duration, sampled, size, ranks);
  for (const [j, p] of PERCENTILES.entries()) out[p] = found[j] as number;
  return out;
}

/** The end of every test that ran and says when it started (the timeline's input). */
function eachEnd(table: TestTable, add: (end: number) => void): void {
  const { status, start, duration } = table;
  for (let i = 0; i < table.size; i++) {
    const startMs = start[i] as number;
    if ((status[i] as number) <= STATUS_CODE.error && !Number.isNaN(startMs)) add(startMs + (duration[i] as number));
  }
}

/** Group keys by pool code: the batch of each batch code, the tags of each tag-list code. */
function groupKeys(table: TestTable, batches: GroupAcc, tags: GroupAcc) {
  const batchKey = Int32Array.from(table.batchPool.values, (b) => batches.keyOf(b ?? '(none)'));
  const tagKeys = table.tagPool.values.map((list) => Int32Array.from(list, (tag) => tags.keyOf(tag)));
  batches.ready();
  tags.ready();
  return { batchKey, tagKeys };
}

/**
 * One pass over the merged tests' columns (no object per test: only failures, the slowest
 * and the listed ids are looked at as tests). Long on purpose: a merge may hold millions
 * of tests, and every statistic is taken in the same loop over the typed arrays; split
 * into helpers, each would walk the table again or take a dozen accumulators as arguments.
 */
export function summarizeMerge(state: MergeState): Summary {
  const table = state.tests;
  const size = table.size;
  const counts = emptyCounts();
  const byStatus = new Float64Array(STATUSES.length);
  const tags = new GroupAcc();
  const batches = new GroupAcc();
  const { batchKey, tagKeys } = groupKeys(table, batches, tags);
  const groups = new Map<string, FailureGroup>();
  const reasons = new Map<string, string | null>();
  // The latency samples: rows that ran and sent a request (no copy of their durations: select.ts).
  const sampled = new Uint8Array(size);
  let max = Number.NEGATIVE_INFINITY;
  const slowest: number[] = [];
  const flaky: string[] = [];
  const missing: string[] = [];
  /** Latency samples; tests that ran; ran without sending a request. */
  let n = 0;
  let ranCount = 0;
  let notSent = 0;
  let latencySum = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  let summedMs = 0;
  const { status, flags, duration, start } = table;
  for (let i = 0; i < size; i++) {
    const s = status[i] as number;
    const isFlaky = ((flags[i] as number) & FLAG_FLAKY) !== 0;
    const d = duration[i] as number;
    byStatus[s] = (byStatus[s] as number) + 1;
    if (isFlaky) {
      counts.flaky++;
      if (flaky.length < MAX_LIST) flaky.push(table.idOf(i));
    }
    if (s === STATUS_CODE.missing && missing.length < MAX_LIST) missing.push(table.idOf(i));
    batches.bump(batchKey[table.batch[i] as number] as number, s, isFlaky, d);
    const tk = tagKeys[table.tags[i] as number] as Int32Array;
    for (let j = 0; j < tk.length; j++) tags.bump(tk[j] as number, s, isFlaky, d);
    // Only tests that did not pass or skip have a failure reason.
    if (s !== STATUS_CODE.passed && s !== STATUS_CODE.skipped) addFailure(groups, table, i, reasons);
    if (s > STATUS_CODE.error) continue;
    ranCount++;
    summedMs += d;
    if ((flags[i] as number) & FLAG_UNSENT) notSent++;
    else {
      sampled[i] = 1;
      n++;
      if (d > max || (d === 0 && Object.is(max, -0))) max = d;
      latencySum += d;
      keepSlowest(slowest, duration, i);
    }
    const startMs = start[i] as number;
    if (!Number.isNaN(startMs)) {
      const end = startMs + d;
      if (startMs < first) first = startMs;
      if (end > last) last = end;
    }
  }
  counts.total = size;
  for (let s = 0; s < STATUSES.length; s++) counts[countOf(STATUSES[s] as MergedStatus)] = byStatus[s] as number;
  const at = latencies(duration, sampled, size, n);
  const wallMs = Number.isFinite(first) ? Math.max(0, last - first) : 0;
  return {
    counts,
    passRate: passRate(counts),
    startedAt: Number.isFinite(first) ? new Date(first).toISOString() : null,
    finishedAt: Number.isFinite(last) ? new Date(last).toISOString() : null,
    wallMs,
    summedMs,
    throughput: wallMs > 0 ? ranCount / (wallMs / 1000) : 0,
    latency: {
      p50: at[50] as number,
      p90: at[90] as number,
      p95: at[95] as number,
      p99: at[99] as number,
      max: n > 0 ? max : 0,
      mean: n > 0 ? latencySum / n : 0,
    },
    notSent,
    slowest: slowest.map((i) => ({
      id: table.idOf(i),
      name: table.view(i).name,
      durationMs: duration[i] as number,
      status: table.statusOf(i),
    })),
    failureGroups: [...groups.values()].sort((a, b) => b.count - a.count),
    tags: tags.rows(),
    batches: batches.rows(),
    flaky,
    missing,
    recordsRead: state.recordsRead,
    superseded: state.superseded,
    flows: countFlows(table),
    phases: state.phases,
    timeline: timeline((add) => eachEnd(table, add), first, wallMs),
    histogram: histogram(n, at[99] as number, max, (add) => {
      for (let i = 0; i < size; i++) if (sampled[i] === 1) add(duration[i] as number);
    }),
  };
}
