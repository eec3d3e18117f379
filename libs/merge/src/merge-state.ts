import { createInterner, type Interner, NO_TAGS } from './interner.js';
import { type MergedTest, missingTest } from './merged-test.js';

/** The merged view: one entry per id, in first-seen order (suite order when a suite is known). */
export interface MergeState {
  tests: Map<string, MergedTest>;
  /** Result records read, all files together. */
  recordsRead: number;
  /** Records that lost to a later record of the same id. */
  superseded: number;
  /** Ids named in the suite (run folder batches or --suite). */
  expected: number;
  intern: Interner;
}

export function createMergeState(): MergeState {
  return { tests: new Map(), recordsRead: 0, superseded: 0, expected: 0, intern: createInterner() };
}

export interface ExpectedTest {
  id: string;
  name?: string;
  tags?: string[];
  batch?: string | null;
  enabled?: boolean;
}

/** Registers a suite id; until a result arrives it is missing (or skipped when disabled). */
export function addExpected(state: MergeState, t: ExpectedTest): void {
  const known = state.tests.get(t.id);
  if (known) {
    if (known.records === 0 && known.batch === null && t.batch) known.batch = t.batch;
    return;
  }
  state.expected++;
  state.tests.set(t.id, missingTest(t.id, t.name || t.id, t.tags ?? [], t.batch ?? null, t.enabled ?? true));
}

type Obj = Record<string, unknown>;

const isBad = (status: unknown) => status === 'failed' || status === 'error';

function startMs(v: unknown): number {
  return typeof v === 'string' && v !== '' ? Date.parse(v) : Number.NaN;
}

/**
 * Whether a new record replaces the kept one. The later start wins when both records say
 * when they started (a rerun on another machine may be read first); otherwise, and on a
 * tie, the record read later wins (file order, then line).
 */
function wins(kept: MergedTest, startedAtMs: number): boolean {
  if (Number.isNaN(kept.startedAtMs) || Number.isNaN(startedAtMs)) return true;
  return startedAtMs >= kept.startedAtMs;
}

function httpStatusOf(v: Obj): number | null {
  const r = v.response as Obj | null | undefined;
  return r && typeof r.status === 'number' ? r.status : null;
}

function take(t: MergedTest, v: Obj, startedAtMs: number, intern: Interner): void {
  t.name = typeof v.name === 'string' && v.name !== '' ? v.name : t.name;
  t.status = v.status as MergedTest['status'];
  t.durationMs = typeof v.durationMs === 'number' ? v.durationMs : 0;
  t.httpStatus = httpStatusOf(v);
  const failures = v.failures as MergedTest['failures'] | undefined;
  t.failures = failures && failures.length > 0 ? failures : null;
  t.error = (v.error as MergedTest['error'] | undefined) ?? null;
  if (typeof v.batch === 'string') t.batch = intern.string(v.batch, 'batch');
  if (Array.isArray(v.tags)) t.tags = intern.tags(v.tags as string[]);
  t.startedAtMs = startedAtMs;
  t.runId = typeof v.runId === 'string' ? intern.string(v.runId, 'runId') : t.runId;
  t.worker = typeof v.worker === 'number' ? v.worker : t.worker;
  t.shard = typeof v.shard === 'string' ? intern.string(v.shard, 'shard') : t.shard;
}

/**
 * A new id's entry, built in one literal with its final values: starting from a blank
 * entry and assigning changed each field's kind (null to number, integer to float) and
 * cost V8 a shape migration per object, several microseconds per record.
 */
function fromRecord(id: string, v: Obj, startedAtMs: number, intern: Interner): MergedTest {
  const failures = v.failures as MergedTest['failures'] | undefined;
  return {
    id,
    name: typeof v.name === 'string' && v.name !== '' ? v.name : id,
    status: v.status as MergedTest['status'],
    attempts: 0,
    records: 0,
    durationMs: typeof v.durationMs === 'number' ? v.durationMs : 0,
    httpStatus: httpStatusOf(v),
    failures: failures && failures.length > 0 ? failures : null,
    error: (v.error as MergedTest['error'] | undefined) ?? null,
    batch: typeof v.batch === 'string' ? intern.string(v.batch, 'batch') : null,
    tags: Array.isArray(v.tags) ? intern.tags(v.tags as string[]) : NO_TAGS,
    startedAtMs,
    flaky: false,
    hadBad: false,
    runId: typeof v.runId === 'string' ? intern.string(v.runId, 'runId') : null,
    worker: typeof v.worker === 'number' ? v.worker : null,
    shard: typeof v.shard === 'string' ? intern.string(v.shard, 'shard') : null,
  };
}

/** Folds one validated result record into the state. */
export function addResult(state: MergeState, v: Obj): void {
  state.recordsRead++;
  const id = v.id as string;
  const attempts = typeof v.attempts === 'number' ? v.attempts : 1;
  const startedAtMs = startMs(v.startedAt);
  let t = state.tests.get(id);
  if (!t || t.records === 0) {
    // The first result of an id: a fresh entry (the suite's placeholder keeps its place
    // in the map and lends what the record does not say).
    const fresh = fromRecord(id, v, startedAtMs, state.intern);
    if (t) {
      if (typeof v.name !== 'string' || v.name === '') fresh.name = t.name;
      if (fresh.batch === null) fresh.batch = t.batch;
      if (!Array.isArray(v.tags)) fresh.tags = t.tags;
    }
    t = fresh;
    state.tests.set(id, t);
  } else {
    state.superseded++;
    if (wins(t, startedAtMs)) take(t, v, startedAtMs, state.intern);
  }
  // Any failed or errored try of this id (a record, or a retried attempt inside one).
  if (isBad(v.status) || attempts > 1) t.hadBad = true;
  t.records++;
  t.attempts += attempts;
  t.flaky = t.status === 'passed' && t.hadBad;
}
