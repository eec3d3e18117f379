import { UsageError } from '@capi/core';
import type { Summary } from './summary.js';

/**
 * `--fail-if` conditions, as k6 thresholds: `pass_rate<99%`, `p95>800ms`, `p99>1.5s`,
 * `errors>0`, `flaky>0`.
 * Each names a condition that fails the run; when any is given, they alone decide the
 * verdict.
 */
export const METRICS = [
  'pass_rate',
  'failed',
  'errors',
  'missing',
  'flaky',
  'skipped',
  'p50',
  'p90',
  'p95',
  'p99',
  'max',
  'mean',
  'throughput',
] as const;
export type Metric = (typeof METRICS)[number];
type Op = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Threshold {
  expr: string;
  metric: Metric;
  op: Op;
  /** In the metric's unit: percent, count, milliseconds, tests per second. */
  value: number;
}

export interface ThresholdResult extends Threshold {
  actual: number;
  /** The fail condition is true: this threshold did not hold. */
  crossed: boolean;
}

const COUNT = { '': 1 };
/** Latency in milliseconds; a bare number is milliseconds. */
const TIME = { '': 1, ms: 1, s: 1000, m: 60_000 };

const UNITS: Record<Metric, Record<string, number>> = {
  // Percent only, with `%`: k6 writes rates as fractions (`rate<0.99`), and a bare 0.99
  // read as 0.99 % let a run with a 23 % pass rate pass.
  pass_rate: { '%': 1 },
  failed: COUNT,
  errors: COUNT,
  missing: COUNT,
  flaky: COUNT,
  skipped: COUNT,
  p50: TIME,
  p90: TIME,
  p95: TIME,
  p99: TIME,
  max: TIME,
  mean: TIME,
  throughput: { '': 1, '/s': 1 },
};

const SHAPE = /^\s*([a-z_0-9]+)\s*(<=|>=|==|!=|<|>)\s*(\d+(?:\.\d+)?)\s*(%|ms|s|m|\/s)?\s*$/;

export function parseThreshold(expr: string): Threshold {
  // k6 spells percentiles p(95); both spellings are accepted.
  const m = SHAPE.exec(expr.replace(/^\s*p\((\d+)\)/, 'p$1'));
  if (!m) throw new UsageError(`--fail-if "${expr}": expected METRIC OP VALUE, e.g. 'pass_rate<99%' or 'p95>800ms'`);
  const metric = m[1] as Metric;
  if (!METRICS.includes(metric))
    throw new UsageError(`--fail-if "${expr}": unknown metric "${metric}" (one of ${METRICS.join(', ')})`);
  const unit = m[4] ?? '';
  if (metric === 'pass_rate' && unit === '')
    throw new UsageError(
      `--fail-if "${expr}": write pass_rate in percent with %, e.g. 'pass_rate<99%' (a fraction like 0.99 is not read as 99%)`,
    );
  const scale = UNITS[metric][unit];
  if (scale === undefined) throw new UsageError(`--fail-if "${expr}": unit "${unit}" does not fit ${metric}`);
  return { expr: expr.trim(), metric, op: m[2] as Op, value: Number(m[3]) * scale };
}

export function metricValue(summary: Summary, metric: Metric): number {
  switch (metric) {
    case 'pass_rate':
      return summary.passRate;
    case 'failed':
      return summary.counts.failed;
    case 'errors':
      return summary.counts.error;
    case 'missing':
      return summary.counts.missing;
    case 'flaky':
      return summary.counts.flaky;
    case 'skipped':
      return summary.counts.skipped;
    case 'throughput':
      return summary.throughput;
    default:
      return summary.latency[metric];
  }
}

function holds(actual: number, op: Op, value: number): boolean {
  switch (op) {
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
    case '==':
      return actual === value;
    default:
      return actual !== value;
  }
}

export function evaluateThresholds(summary: Summary, thresholds: Threshold[]): ThresholdResult[] {
  return thresholds.map((t) => {
    const actual = metricValue(summary, t.metric);
    return { ...t, actual, crossed: holds(actual, t.op, t.value) };
  });
}

/** Without thresholds: failed when any test failed, errored or is missing. */
export function verdictOf(summary: Summary, results: ThresholdResult[]): 'passed' | 'failed' {
  if (results.length > 0) return results.some((r) => r.crossed) ? 'failed' : 'passed';
  const c = summary.counts;
  return c.failed + c.error + c.missing > 0 ? 'failed' : 'passed';
}
