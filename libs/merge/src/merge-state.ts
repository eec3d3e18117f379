import { createTeardownTally, type TeardownTally } from '@capi/core';
import { addPhaseResult, createPhaseTally, type PhaseTally } from './flow-summary.js';
import { fastIsoToMs } from './iso-time.js';
import type { MergedTest } from './merged-test.js';
import { fieldsOf } from './row-text.js';
import {
  FLAG_BAD,
  FLAG_FLAKY,
  FLAG_HAS_NAME,
  FLAG_HAS_RUN,
  FLAG_HAS_SHARD,
  FLAG_RERUN,
  FLAG_STOPPED,
  FLAG_UNSENT,
  STATUS_CODE,
  type TableOptions,
  TestTable,
} from './test-table.js';

/** The merged view: one row per id, in first-seen order (suite order when a suite is known). */
export interface MergeState {
  tests: TestTable;
  /** Result records read, all files together. */
  recordsRead: number;
  /** Records that lost to a later record of the same id. */
  superseded: number;
  /** Ids named in the suite (run folder batches or --suite). */
  expected: number;
  /** Setup and teardown results: counted apart, never tests (flow-summary.ts). */
  phases: PhaseTally;
  /** Each teardown row's last result per batch, for `phases.teardownFailed`. */
  teardown: TeardownTally;
}

export function createMergeState(opts: TableOptions = {}): MergeState {
  return {
    tests: new TestTable(opts),
    recordsRead: 0,
    superseded: 0,
    expected: 0,
    phases: createPhaseTally(),
    teardown: createTeardownTally(),
  };
}

export interface ExpectedTest {
  id: string;
  /** Where the suite or batch file names it: for a message about it. */
  line?: number;
  name?: string;
  tags?: string[];
  batch?: string | null;
  enabled?: boolean;
  flow?: string | null;
  /** Setup and teardown rows are not tests: never expected as one. */
  phase?: string | null;
}

/** Registers a suite id; until a result arrives it is missing (or skipped when disabled). */
export function addExpected(state: MergeState, t: ExpectedTest): void {
  if (t.phase) return;
  const table = state.tests;
  const known = table.indexOf(t.id);
  if (known !== undefined) {
    if (table.pending[known] === 1 && table.batch[known] === 0 && t.batch) {
      // A later batch file names the batch the suite did not: the text, not rendered yet, will show it.
      table.setBatch(known, table.batchPool.code(t.batch));
    } else if (table.records[known] === 0 && table.batch[known] === 0 && t.batch) {
      // A later batch file names the batch the suite did not: its text is written again.
      const before = table.view(known);
      table.setBatch(known, table.batchPool.code(t.batch));
      table.setText(known, { ...fieldsOf(before), batch: t.batch });
    }
    return;
  }
  state.expected++;
  const i = table.add(t.id);
  const name = t.name || t.id;
  const status = t.enabled === false ? 'skipped' : 'missing';
  table.setTags(i, table.tagPool.code(t.tags));
  table.setBatch(i, table.batchPool.code(t.batch));
  table.setFlow(i, table.flowPool.code(t.flow));
  table.status[i] = STATUS_CODE[status];
  table.flags[i] = name === t.id ? 0 : FLAG_HAS_NAME;
  table.setPending(i, name);
}

type Obj = Record<string, unknown>;

const isBad = (status: unknown) => status === 'failed' || status === 'error';

/** A record's start: epoch ms (NaN: unknown) and the text the merged record gives (the canonical text as it is, else toISOString). */
interface Start {
  ms: number;
  text: string | null;
}

function startOf(v: unknown): Start {
  if (typeof v !== 'string' || v === '') return { ms: Number.NaN, text: null };
  const fast = fastIsoToMs(v);
  if (!Number.isNaN(fast)) return { ms: fast, text: v };
  const ms = Date.parse(v);
  return { ms, text: Number.isNaN(ms) ? null : new Date(ms).toISOString() };
}

/**
 * Whether a new record replaces the kept one. The later start wins when both records say
 * when they started (a rerun on another machine may be read first); otherwise, and on a
 * tie, the record read later wins (file order, then line).
 */
function wins(keptMs: number, startedAtMs: number): boolean {
  if (Number.isNaN(keptMs) || Number.isNaN(startedAtMs)) return true;
  return startedAtMs >= keptMs;
}

/** Error codes capi-exec gives before anything is sent (docs/capi-exec.md). */
export const PRE_SEND: ReadonlySet<string> = new Set([
  'TEMPLATE',
  'BAD_URL',
  'BAD_HEADER',
  'BAD_REQUEST',
  'BAD_EXPECT',
]);

/**
 * A test that never sent a request (a template or URL error before the first try, a bad
 * expectation): no response, and no try, or (older journals, which counted one) no
 * time and an error code that is given before sending. Its 0 ms is not a latency; an
 * error that was sent keeps its time, however short.
 */
function neverSent(v: Obj, response: Obj | null | undefined): boolean {
  if (response) return false;
  if (v.attempts === 0) return true;
  const code = (v.error as Obj | null | undefined)?.code;
  return v.durationMs === 0 && typeof code === 'string' && PRE_SEND.has(code);
}

const hasName = (v: Obj) => typeof v.name === 'string' && v.name !== '';

/**
 * The row's earlier text, when the new record lacks a field that text holds (a name,
 * run id, worker or shard keeps its value): read back only then, which is rare.
 */
function earlier(state: MergeState, i: number, v: Obj): MergedTest | null {
  const flags = state.tests.flags[i] as number;
  const lacks =
    ((flags & FLAG_HAS_NAME) !== 0 && !hasName(v)) ||
    ((flags & FLAG_HAS_RUN) !== 0 && (typeof v.runId !== 'string' || typeof v.worker !== 'number')) ||
    ((flags & FLAG_HAS_SHARD) !== 0 && typeof v.shard !== 'string');
  return lacks ? state.tests.view(i) : null;
}

/**
 * Makes the record row i's winner: its columns, and its report text rendered into the
 * spool. A field the record does not carry keeps its value.
 */
function take(state: MergeState, i: number, v: Obj, started: Start): void {
  const table = state.tests;
  const before = earlier(state, i, v);
  const id = v.id as string;
  const name = hasName(v) ? (v.name as string) : (before?.name ?? id);
  const status = v.status as keyof typeof STATUS_CODE;
  table.status[i] = STATUS_CODE[status];
  const duration = typeof v.durationMs === 'number' ? v.durationMs : 0;
  table.duration[i] = duration;
  const r = v.response as Obj | null | undefined;
  // As 32-bit integers, as the columns these were kept in before; negative is none.
  const http = r && typeof r.status === 'number' ? r.status | 0 : -1;
  const bytes = r && typeof r.bytes === 'number' && r.bytes >= 0 ? r.bytes : null;
  const failures = v.failures as unknown[] | undefined;
  const error = v.error as { code?: unknown } | null | undefined;
  if (typeof v.batch === 'string') table.setBatch(i, table.batchPool.code(v.batch));
  if (Array.isArray(v.tags)) table.setTags(i, table.tagPool.code(v.tags as string[]));
  if (typeof v.flow === 'string') table.setFlow(i, table.flowPool.code(v.flow));
  table.start[i] = started.ms;
  const runId = typeof v.runId === 'string' ? v.runId : (before?.runId ?? null);
  const worker = typeof v.worker === 'number' ? v.worker | 0 : (before?.worker ?? null);
  const shard = typeof v.shard === 'string' ? v.shard : (before?.shard ?? null);
  const flowRun = typeof v.flowRun === 'number' && v.flowRun >= 1 ? Math.min(v.flowRun, 65535) & 0xffff : 1;
  let flags = (table.flags[i] as number) & (FLAG_BAD | FLAG_FLAKY);
  if (neverSent(v, r)) flags |= FLAG_UNSENT;
  if (status === 'error' && error?.code === 'FLOW_STOPPED') flags |= FLAG_STOPPED;
  if (flowRun > 1) flags |= FLAG_RERUN;
  if (name !== id) flags |= FLAG_HAS_NAME;
  if (runId !== null || (worker !== null && worker >= 0)) flags |= FLAG_HAS_RUN;
  if (shard !== null) flags |= FLAG_HAS_SHARD;
  table.flags[i] = flags;
  table.setText(i, {
    id,
    name,
    status,
    startedAt: started.text,
    durationMs: duration,
    httpStatus: http < 0 ? null : http,
    responseBytes: http < 0 ? null : bytes,
    failures: failures !== undefined && failures.length > 0 ? failures : null,
    error: error ? error : null,
    batch: table.batchPool.values[table.batch[i] as number] ?? null,
    worker: worker !== null && worker >= 0 ? worker : null,
    runId,
    tags: table.tagPool.values[table.tags[i] as number] as string[],
    shard,
    // the winning record's host, none when it names none (a later record run here, not remotely)
    host: typeof v.host === 'string' ? v.host : null,
    flow: table.flowPool.values[table.flow[i] as number] ?? null,
    flowRun,
  });
}

/** Folds one validated result record into the state. */
export function addResult(state: MergeState, v: Obj): void {
  state.recordsRead++;
  if (v.phase === 'setup' || v.phase === 'teardown') {
    addPhaseResult(state.phases, v);
    state.teardown.add(v as { id: string; status: string; phase: string }, typeof v.batch === 'string' ? v.batch : '');
    state.phases.teardownFailed = state.teardown.failed;
    return;
  }
  const table = state.tests;
  const id = v.id as string;
  const attempts = typeof v.attempts === 'number' ? v.attempts : 1;
  const started = startOf(v.startedAt);
  let i = table.indexOf(id);
  if (i === undefined) {
    i = table.add(id);
    take(state, i, v, started);
  } else if (table.records[i] === 0) {
    // A suite id's first result: the suite lends what the record does not say.
    take(state, i, v, started);
  } else {
    state.superseded++;
    if (wins(table.start[i] as number, started.ms)) take(state, i, v, started);
  }
  let flags = table.flags[i] as number;
  // Any failed or errored try of this id (a record, or a retried attempt inside one).
  if (isBad(v.status) || attempts > 1) flags |= FLAG_BAD;
  const passed = table.status[i] === STATUS_CODE.passed;
  flags = passed && flags & FLAG_BAD ? flags | FLAG_FLAKY : flags & ~FLAG_FLAKY;
  table.flags[i] = flags;
  table.countRecord(i, attempts);
}
