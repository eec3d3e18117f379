/** The numbers behind the HTML report's charts (html-charts.ts draws them). */

/** Tests finished per time slice, for the throughput chart. */
export interface Timeline {
  sliceMs: number;
  startMs: number;
  finished: number[];
}

/** Latency histogram: bucket upper bounds (ms) and counts. */
export interface Histogram {
  bounds: number[];
  counts: number[];
}

const SLICES = 60;

/**
 * Test ends counted in about 60 slices of the run's wall time. The ends are handed over
 * one by one (`eachEnd` calls `add` for each) so that no array of a million of them is
 * made: the summary reads them from its columns.
 */
export function timeline(eachEnd: (add: (end: number) => void) => void, startMs: number, wallMs: number): Timeline {
  if (!Number.isFinite(startMs) || wallMs <= 0) return { sliceMs: 0, startMs: 0, finished: [] };
  const sliceMs = Math.max(1, Math.ceil(wallMs / SLICES));
  const finished = new Array<number>(Math.ceil(wallMs / sliceMs) + 1).fill(0);
  eachEnd((end) => {
    const k = Math.min(finished.length - 1, Math.max(0, Math.floor((end - startMs) / sliceMs)));
    finished[k] = (finished[k] ?? 0) + 1;
  });
  return { sliceMs, startMs, finished };
}

const BUCKETS = 20;

/**
 * n latencies in 20 equal buckets up to p99, and one for the tail (up to max). The
 * latencies are handed over one by one (`each` calls `add`), in any order.
 */
export function histogram(n: number, p99: number, max: number, each: (add: (d: number) => void) => void): Histogram {
  if (n === 0) return { bounds: [], counts: [] };
  // Up to p99 in equal steps, then one bucket for the tail, so one outlier does not flatten the chart.
  const top = Math.max(1, p99);
  const step = top / BUCKETS;
  const bounds = Array.from({ length: BUCKETS }, (_, i) => Number(((i + 1) * step).toFixed(3)));
  bounds.push(Math.max(top, max));
  const counts = new Array<number>(bounds.length).fill(0);
  each((d) => {
    const i = Math.min(bounds.length - 1, Math.floor(d / step - 1e-9));
    const k = Math.max(0, i);
    counts[k] = (counts[k] ?? 0) + 1;
  });
  return { bounds, counts };
}
