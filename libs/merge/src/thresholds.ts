import { UsageError } from '@capi/core';
import type { Summary } from './summary.js';

/**
 * `--fail-if` conditions: `pass_rate<99%`, `p95>800ms`, `p99>1.5s`, `errors>0`, `flaky>0`.
 * Each names a condition that fails the run (k6's thresholds name what must hold). They add
 * to the default rule (`failed>0`, `errors>0`, `missing>0`); only one on the tests
 * themselves replaces the part it speaks about (docs/capi-merge.md "Verdict").
 */
export const METRICS = [
  'pass_rate',
  'failed',
  'errors',
  'missing',
  'flaky',
  'skipped',
  'teardown',
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
  /** The default rule's, or a `--fail-if`. */
  from: 'default' | 'fail-if';
  /** null: nothing to measure (a pass rate over no judged test); the rule holds. */
  actual: number | null;
  /** The fail condition is true: this threshold did not hold. */
  crossed: boolean;
}

const COUNT = { '': 1 };
/** Latency in milliseconds; the unit is required (`p95>800` could be ms or s). */
const TIME = { ms: 1, s: 1000, m: 60_000 };

const UNITS: Record<Metric, Record<string, number>> = {
  // Percent only, with `%`: k6 writes rates as fractions (`rate<0.99`), and a bare 0.99
  // read as 0.99 % let a run with a 23 % pass rate pass.
  pass_rate: { '%': 1 },
  failed: COUNT,
  errors: COUNT,
  missing: COUNT,
  flaky: COUNT,
  skipped: COUNT,
  teardown: COUNT,
  p50: TIME,
  p90: TIME,
  p95: TIME,
  p99: TIME,
  max: TIME,
  mean: TIME,
  throughput: { '/s': 1 },
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
  if (scale === undefined && unit === '')
    throw new UsageError(`--fail-if "${expr}": ${unitHint(metric, m[2] as string, m[3] as string)}`);
  if (scale === undefined) throw new UsageError(`--fail-if "${expr}": unit "${unit}" does not fit ${metric}`);
  return { expr: expr.trim(), metric, op: m[2] as Op, value: Number(m[3]) * scale };
}

function unitHint(metric: Metric, op: string, value: string): string {
  if (metric === 'throughput') return `write the unit, e.g. 'throughput${op}${value}/s' (tests per second)`;
  return `write the unit, e.g. '${metric}${op}${value}ms' or '${metric}${op}${value}s' (a bare number could be either)`;
}

/** The metrics that are a count of tests of one kind, read from summary.counts by name. */
const COUNTED = ['failed', 'errors', 'missing', 'flaky', 'skipped'] as const;
const isCounted = (m: Metric): m is (typeof COUNTED)[number] => (COUNTED as readonly string[]).includes(m);

export function metricValue(summary: Summary, metric: Metric): number | null {
  if (isCounted(metric)) return summary.counts[metric];
  switch (metric) {
    case 'pass_rate':
      return summary.passRate;
    case 'teardown':
      return summary.phases.teardownFailed;
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

/** The default rules on the tests: a `--fail-if pass_rate` replaces all three. */
const TEST_RULES = ['failed', 'errors', 'missing'] as const;

/**
 * The default rule as rules (core testsVerdict): any failed, errored or missing test, or
 * teardown row that failed (`teardown`: not a test, but a cleanup that did not happen), fails the run.
 */
const DEFAULT_RULES: Threshold[] = ([...TEST_RULES, 'teardown'] as const).map((metric) => ({
  expr: `${metric}>0`,
  metric,
  op: '>' as Op,
  value: 0,
}));

/** The default rules a `--fail-if` on the tests replaces: its own metric, or all three for pass_rate. */
function replaced(given: Threshold[]): Set<Metric> {
  const out = new Set<Metric>();
  for (const t of given) {
    if (t.metric === 'pass_rate') for (const m of TEST_RULES) out.add(m);
    else out.add(t.metric);
  }
  return out;
}

/** Every rule in force: the default rules not replaced, then the `--fail-if` ones, each judged. */
export function evaluateThresholds(summary: Summary, given: Threshold[]): ThresholdResult[] {
  const gone = replaced(given);
  const rules = [
    ...DEFAULT_RULES.filter((d) => !gone.has(d.metric)).map((t) => ({ ...t, from: 'default' as const })),
    ...given.map((t) => ({ ...t, from: 'fail-if' as const })),
  ];
  return rules.map((t) => {
    const actual = metricValue(summary, t.metric);
    return { ...t, actual, crossed: actual !== null && holds(actual, t.op, t.value) };
  });
}

/** Failed when any rule in force was crossed. */
export function verdictOf(results: ThresholdResult[]): 'passed' | 'failed' {
  return results.some((r) => r.crossed) ? 'failed' : 'passed';
}

/** `failed>0 (default rule), p95>800ms (--fail-if)`: the rules that failed the run, for people. */
export function decidedBy(results: ThresholdResult[]): string {
  const crossed = results.filter((r) => r.crossed);
  if (crossed.length === 0) return `every rule held (${results.map(ruleName).join(', ')})`;
  return `decided by ${crossed.map(ruleName).join(', ')}`;
}

export const ruleName = (r: ThresholdResult) => `${r.expr} (${r.from === 'default' ? 'default rule' : '--fail-if'})`;
