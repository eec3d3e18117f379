import { COUNT_OF_STATUS, type ResultStatus } from '@capi/core';
import type { TestTable } from './test-table.js';
import { FLAG_RERUN, FLAG_STOPPED, STATUS_CODE } from './test-table.js';

/**
 * Flows in the merged report (docs/capi-merge.md "Flows"). Setup and teardown rows are not
 * tests: each process that ran tests ran them (and a re-login runs setup again), so their
 * ids repeat across batches by design. They are counted apart, every record, never taken
 * as "the last result per id". Flows are counted over the merged tests: complete, stopped
 * at a row (FLOW_STOPPED), incomplete (a row has no result), re-run (flowRun > 1).
 */

export interface PhaseCounts {
  /** Results read: one per run of the row, in every process (re-logins included). */
  runs: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
}

export interface PhaseProblem {
  phase: 'setup' | 'teardown';
  id: string;
  name: string;
  status: string;
  batch: string | null;
  worker: number | null;
  /** The error message, or the first failed check. */
  reason: string;
}

export interface PhaseTally {
  setup: PhaseCounts;
  teardown: PhaseCounts;
  /**
   * Teardown rows whose last result in their batch failed or errored (core
   * `createTeardownTally`): the default rule `teardown>0` fails the run on them.
   */
  teardownFailed: number;
  /** The first failed or errored setup and teardown results, to show (a bounded list). */
  problems: PhaseProblem[];
}

export interface FlowCounts {
  /** Distinct flows among the merged tests. */
  total: number;
  /** Every row has a result and none was left unsent by an earlier row's failure. */
  complete: number;
  /** Every row passed (a part of `complete`). */
  passed: number;
  /** A row failed or errored, and the later rows were not sent (FLOW_STOPPED). */
  stopped: number;
  /** A row has no result (missing): the run did not reach it. */
  incomplete: number;
  /** Run again from the first row on resume (flowRun > 1 on its results). */
  rerun: number;
}

const MAX_PROBLEMS = 20;

const zero = (): PhaseCounts => ({ runs: 0, passed: 0, failed: 0, errors: 0, skipped: 0 });

export function createPhaseTally(): PhaseTally {
  return { setup: zero(), teardown: zero(), teardownFailed: 0, problems: [] };
}

type Obj = Record<string, unknown>;

/** Counts one setup or teardown result record. */
export function addPhaseResult(tally: PhaseTally, v: Obj): void {
  const phase = v.phase as 'setup' | 'teardown';
  const c = tally[phase];
  c.runs++;
  const status = v.status as ResultStatus;
  if (Object.hasOwn(COUNT_OF_STATUS, status)) c[COUNT_OF_STATUS[status]]++;
  if ((status === 'failed' || status === 'error') && tally.problems.length < MAX_PROBLEMS)
    tally.problems.push({
      phase,
      id: v.id as string,
      name: typeof v.name === 'string' ? v.name : (v.id as string),
      status,
      batch: typeof v.batch === 'string' ? v.batch : null,
      worker: typeof v.worker === 'number' ? v.worker : null,
      reason: reasonOf(v),
    });
}

function reasonOf(v: Obj): string {
  const error = v.error as { code?: unknown; message?: unknown } | null | undefined;
  if (error && typeof error.message === 'string') return `${String(error.code ?? 'error')}: ${error.message}`;
  const first = (v.failures as Array<{ check?: unknown; expected?: unknown; actual?: unknown }> | undefined)?.[0];
  if (first) return `${String(first.check)}: expected ${String(first.expected)}, got ${String(first.actual)}`;
  return v.status as string;
}

const STOPPED = 1;
const MISSING = 2;
const NOT_PASSED = 4;
const RERUN = 8;

/** One pass over the merged tests: each flow's state as bits, then counted. Null when no test has a flow. */
export function countFlows(table: TestTable): FlowCounts | null {
  const flows = table.flowPool.values.length - 1;
  if (flows <= 0) return null;
  const state = new Uint8Array(flows + 1);
  for (let i = 0; i < table.size; i++) {
    const f = table.flow[i] as number;
    if (f === 0) continue;
    const s = table.status[i] as number;
    let bits = state[f] as number;
    if (s === STATUS_CODE.missing) bits |= MISSING;
    if (s !== STATUS_CODE.passed) bits |= NOT_PASSED;
    const flags = table.flags[i] as number;
    if (s === STATUS_CODE.error && flags & FLAG_STOPPED) bits |= STOPPED;
    if (flags & FLAG_RERUN) bits |= RERUN;
    state[f] = bits;
  }
  const c: FlowCounts = { total: 0, complete: 0, passed: 0, stopped: 0, incomplete: 0, rerun: 0 };
  for (let f = 1; f <= flows; f++) {
    const bits = state[f] as number;
    c.total++;
    if (bits & RERUN) c.rerun++;
    if (bits & MISSING) c.incomplete++;
    else if (bits & STOPPED) c.stopped++;
    else {
      c.complete++;
      if (!(bits & NOT_PASSED)) c.passed++;
    }
  }
  return c;
}
