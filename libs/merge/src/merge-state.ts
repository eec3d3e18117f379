import { addPhaseResult, createPhaseTally, type PhaseTally } from './flow-summary.js';
import { isoToMs } from './iso-time.js';
import { FLAG_BAD, FLAG_DETAILS, FLAG_FLAKY, FLAG_UNSENT, STATUS_CODE, TestTable } from './test-table.js';

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
}

export function createMergeState(): MergeState {
  return { tests: new TestTable(), recordsRead: 0, superseded: 0, expected: 0, phases: createPhaseTally() };
}

export interface ExpectedTest {
  id: string;
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
    if (table.records[known] === 0 && table.batch[known] === 0 && t.batch)
      table.batch[known] = table.batchPool.code(t.batch);
    return;
  }
  state.expected++;
  const i = table.add(t.id);
  table.names[i] = t.name || t.id;
  table.tags[i] = table.tagPool.code(t.tags);
  table.batch[i] = table.batchPool.code(t.batch);
  table.status[i] = STATUS_CODE[t.enabled === false ? 'skipped' : 'missing'];
  table.flow[i] = table.flowPool.code(t.flow);
}

type Obj = Record<string, unknown>;

const isBad = (status: unknown) => status === 'failed' || status === 'error';

function startMs(v: unknown): number {
  return typeof v === 'string' && v !== '' ? isoToMs(v) : Number.NaN;
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
const PRE_SEND = new Set(['TEMPLATE', 'BAD_URL', 'BAD_HEADER', 'BAD_REQUEST', 'BAD_EXPECT']);

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

/** Copies the winning record into row i; a field the record does not carry keeps its value. */
function take(state: MergeState, i: number, v: Obj, startedAtMs: number): void {
  const table = state.tests;
  if (typeof v.name === 'string' && v.name !== '') table.names[i] = v.name;
  table.status[i] = STATUS_CODE[v.status as keyof typeof STATUS_CODE];
  table.duration[i] = typeof v.durationMs === 'number' ? v.durationMs : 0;
  const r = v.response as Obj | null | undefined;
  table.http[i] = r && typeof r.status === 'number' ? r.status : -1;
  table.bytes[i] = r && typeof r.bytes === 'number' && r.bytes >= 0 ? r.bytes : -1;
  const failures = v.failures as Array<{ check: string; expected: string; actual: string }> | undefined;
  const error = v.error as { code: string; message: string } | null | undefined;
  // Most records have neither: the maps are only touched for rows that have or had details.
  const flags = table.flags[i] as number;
  if (flags & FLAG_DETAILS) {
    table.failures.delete(i);
    table.errors.delete(i);
  }
  const hasFailures = failures !== undefined && failures.length > 0;
  if (hasFailures) table.failures.set(i, failures);
  if (error) table.errors.set(i, error);
  const details = hasFailures || error ? flags | FLAG_DETAILS : flags & ~FLAG_DETAILS;
  table.flags[i] = neverSent(v, r) ? details | FLAG_UNSENT : details & ~FLAG_UNSENT;
  if (typeof v.batch === 'string') table.batch[i] = table.batchPool.code(v.batch);
  if (Array.isArray(v.tags)) table.tags[i] = table.tagPool.code(v.tags as string[]);
  table.start[i] = startedAtMs;
  if (typeof v.runId === 'string') table.runId[i] = table.runIdPool.code(v.runId);
  if (typeof v.worker === 'number') table.worker[i] = v.worker;
  if (typeof v.shard === 'string') table.shard[i] = table.shardPool.code(v.shard);
  // the winning record's host, none when it names none (a later record run here, not remotely)
  table.host[i] = typeof v.host === 'string' ? table.hostPool.code(v.host) : 0;
  if (typeof v.flow === 'string') table.flow[i] = table.flowPool.code(v.flow);
  table.flowRun[i] = typeof v.flowRun === 'number' && v.flowRun >= 1 ? Math.min(v.flowRun, 65535) : 1;
}

/** Folds one validated result record into the state. */
export function addResult(state: MergeState, v: Obj): void {
  state.recordsRead++;
  if (v.phase === 'setup' || v.phase === 'teardown') {
    addPhaseResult(state.phases, v);
    return;
  }
  const table = state.tests;
  const id = v.id as string;
  const attempts = typeof v.attempts === 'number' ? v.attempts : 1;
  const startedAtMs = startMs(v.startedAt);
  let i = table.indexOf(id);
  if (i === undefined) {
    i = table.add(id);
    take(state, i, v, startedAtMs);
  } else if (table.records[i] === 0) {
    // A suite id's first result: the suite lends what the record does not say.
    take(state, i, v, startedAtMs);
  } else {
    state.superseded++;
    if (wins(table.start[i] as number, startedAtMs)) take(state, i, v, startedAtMs);
  }
  let flags = table.flags[i] as number;
  // Any failed or errored try of this id (a record, or a retried attempt inside one).
  if (isBad(v.status) || attempts > 1) flags |= FLAG_BAD;
  const passed = table.status[i] === STATUS_CODE.passed;
  flags = passed && flags & FLAG_BAD ? flags | FLAG_FLAKY : flags & ~FLAG_FLAKY;
  table.flags[i] = flags;
  table.records[i] = (table.records[i] as number) + 1;
  table.attempts[i] = (table.attempts[i] as number) + attempts;
}
