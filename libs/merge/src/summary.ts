import type { MergeState } from './merge-state.js';
import { type MergedStatus, type MergedTest, ran } from './merged-test.js';
import { percentile } from './percentile.js';
import { reasonOf } from './reason.js';

export type Counts = Record<MergedStatus, number> & { total: number; flaky: number };

export interface GroupRow {
  key: string;
  counts: Counts;
  summedMs: number;
}

export interface FailureGroup {
  reason: string;
  count: number;
  examples: string[];
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
  /** Percent of judged tests (passed, failed, error, missing) that passed; 100 when none. */
  passRate: number;
  startedAt: string | null;
  finishedAt: string | null;
  wallMs: number;
  summedMs: number;
  /** Tests run per second of wall time. */
  throughput: number;
  latency: Latency;
  slowest: Array<{ id: string; name: string; durationMs: number; status: MergedStatus }>;
  failureGroups: FailureGroup[];
  tags: GroupRow[];
  batches: GroupRow[];
  flaky: string[];
  missing: string[];
  recordsRead: number;
  superseded: number;
  /** Tests finished per time slice, for the throughput chart. */
  timeline: { sliceMs: number; startMs: number; finished: number[] };
  /** Latency histogram: bucket upper bounds (ms) and counts. */
  histogram: { bounds: number[]; counts: number[] };
}

export const emptyCounts = (): Counts => ({
  total: 0,
  passed: 0,
  failed: 0,
  error: 0,
  skipped: 0,
  missing: 0,
  flaky: 0,
});

const MAX_GROUPS = 200;
const MAX_LIST = 1000;
const EXAMPLES = 5;

function bump(map: Map<string, GroupRow>, key: string, t: MergedTest): void {
  let row = map.get(key);
  if (!row) {
    row = { key, counts: emptyCounts(), summedMs: 0 };
    map.set(key, row);
  }
  row.counts.total++;
  row.counts[t.status]++;
  if (t.flaky) row.counts.flaky++;
  if (ran(t)) row.summedMs += t.durationMs;
}

function addFailure(groups: Map<string, FailureGroup>, t: MergedTest): void {
  const reason = reasonOf(t);
  if (reason === null) return;
  const key = groups.has(reason) || groups.size < MAX_GROUPS ? reason : 'other reasons';
  let g = groups.get(key);
  if (!g) {
    g = { reason: key, count: 0, examples: [] };
    groups.set(key, g);
  }
  g.count++;
  if (g.examples.length < EXAMPLES) g.examples.push(t.id);
}

function keepSlowest(slowest: MergedTest[], t: MergedTest, n = 10): void {
  if (slowest.length === n && (slowest[n - 1] as MergedTest).durationMs >= t.durationMs) return;
  slowest.push(t);
  slowest.sort((a, b) => b.durationMs - a.durationMs);
  if (slowest.length > n) slowest.pop();
}

export function summarize(state: MergeState): Summary {
  const counts = emptyCounts();
  const tags = new Map<string, GroupRow>();
  const batches = new Map<string, GroupRow>();
  const groups = new Map<string, FailureGroup>();
  const durations = new Float64Array(state.tests.size);
  const ends = new Float64Array(state.tests.size);
  let timed = 0;
  const slowest: MergedTest[] = [];
  const flaky: string[] = [];
  const missing: string[] = [];
  let n = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  let summedMs = 0;
  for (const t of state.tests.values()) {
    counts.total++;
    counts[t.status]++;
    if (t.flaky) {
      counts.flaky++;
      if (flaky.length < MAX_LIST) flaky.push(t.id);
    }
    if (t.status === 'missing' && missing.length < MAX_LIST) missing.push(t.id);
    bump(batches, t.batch ?? '(none)', t);
    for (const tag of t.tags) bump(tags, tag, t);
    addFailure(groups, t);
    if (!ran(t)) continue;
    durations[n++] = t.durationMs;
    summedMs += t.durationMs;
    keepSlowest(slowest, t);
    if (!Number.isNaN(t.startedAtMs)) {
      const end = t.startedAtMs + t.durationMs;
      ends[timed++] = end;
      if (t.startedAtMs < first) first = t.startedAtMs;
      if (end > last) last = end;
    }
  }
  const sorted = durations.subarray(0, n).sort();
  const wallMs = Number.isFinite(first) ? Math.max(0, last - first) : 0;
  const judged = counts.passed + counts.failed + counts.error + counts.missing;
  return {
    counts,
    passRate: judged === 0 ? 100 : (counts.passed / judged) * 100,
    startedAt: Number.isFinite(first) ? new Date(first).toISOString() : null,
    finishedAt: Number.isFinite(last) ? new Date(last).toISOString() : null,
    wallMs,
    summedMs,
    throughput: wallMs > 0 ? n / (wallMs / 1000) : 0,
    latency: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: n > 0 ? (sorted[n - 1] as number) : 0,
      mean: n > 0 ? summedMs / n : 0,
    },
    slowest: slowest.map((t) => ({ id: t.id, name: t.name, durationMs: t.durationMs, status: t.status })),
    failureGroups: [...groups.values()].sort((a, b) => b.count - a.count),
    tags: [...tags.values()].sort((a, b) => a.key.localeCompare(b.key)),
    batches: [...batches.values()].sort((a, b) => a.key.localeCompare(b.key)),
    flaky,
    missing,
    recordsRead: state.recordsRead,
    superseded: state.superseded,
    timeline: timeline(ends.subarray(0, timed), first, wallMs),
    histogram: histogram(sorted),
  };
}

const SLICES = 60;

function timeline(ends: Float64Array, startMs: number, wallMs: number): Summary['timeline'] {
  if (!Number.isFinite(startMs) || wallMs <= 0) return { sliceMs: 0, startMs: 0, finished: [] };
  const sliceMs = Math.max(1, Math.ceil(wallMs / SLICES));
  const finished = new Array<number>(Math.ceil(wallMs / sliceMs) + 1).fill(0);
  for (const end of ends) {
    const k = Math.min(finished.length - 1, Math.max(0, Math.floor((end - startMs) / sliceMs)));
    finished[k] = (finished[k] ?? 0) + 1;
  }
  return { sliceMs, startMs, finished };
}

const BUCKETS = 20;

function histogram(sorted: Float64Array): Summary['histogram'] {
  if (sorted.length === 0) return { bounds: [], counts: [] };
  // Up to p99 in equal steps, then one bucket for the tail, so one outlier does not flatten the chart.
  const top = Math.max(1, percentile(sorted, 99));
  const step = top / BUCKETS;
  const bounds = Array.from({ length: BUCKETS }, (_, i) => Number(((i + 1) * step).toFixed(3)));
  bounds.push(Math.max(top, sorted[sorted.length - 1] as number));
  const counts = new Array<number>(bounds.length).fill(0);
  for (const d of sorted) {
    const i = Math.min(bounds.length - 1, Math.floor(d / step - 1e-9));
    const k = Math.max(0, i);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return { bounds, counts };
}
