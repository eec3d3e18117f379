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
}

export function createMergeState(): MergeState {
  return { tests: new Map(), recordsRead: 0, superseded: 0, expected: 0 };
}

/**
 * Batch names, tag lists, run ids and shards repeat across millions of records: one shared
 * copy of each keeps memory (and garbage-collection time) growing with ids only.
 */
const strings = new Map<string, string>();
const tagLists = new Map<string, string[]>();
const INTERN_LIMIT = 100_000;

/** Per field, the value interned last: neighbouring records mostly repeat it. */
const lastSeen = { batch: '', runId: '', shard: '' };

function intern(v: string, field: keyof typeof lastSeen): string {
  if (v === lastSeen[field]) return lastSeen[field];
  let known = strings.get(v);
  if (known === undefined) {
    known = v;
    if (strings.size < INTERN_LIMIT) strings.set(v, v);
  }
  lastSeen[field] = known;
  return known;
}

let lastTags: string[] = [];

function sameList(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function internTags(tags: string[]): string[] {
  if (tags.length === 0) return EMPTY;
  // Neighbouring records mostly carry the same tags: compare before building a key.
  if (sameList(tags, lastTags)) return lastTags;
  const key = tags.length === 1 ? (tags[0] as string) : tags.join('\u0000');
  let known = tagLists.get(key);
  if (!known) {
    known = tags;
    if (tagLists.size < INTERN_LIMIT) tagLists.set(key, tags);
  }
  lastTags = known;
  return known;
}

const EMPTY: string[] = [];

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

function take(t: MergedTest, v: Obj, startedAtMs: number): void {
  t.name = typeof v.name === 'string' && v.name !== '' ? v.name : t.name;
  t.status = v.status as MergedTest['status'];
  t.durationMs = typeof v.durationMs === 'number' ? v.durationMs : 0;
  t.httpStatus = httpStatusOf(v);
  const failures = v.failures as MergedTest['failures'] | undefined;
  t.failures = failures && failures.length > 0 ? failures : null;
  t.error = (v.error as MergedTest['error'] | undefined) ?? null;
  if (typeof v.batch === 'string') t.batch = intern(v.batch, 'batch');
  if (Array.isArray(v.tags)) t.tags = internTags(v.tags as string[]);
  t.startedAtMs = startedAtMs;
  t.runId = typeof v.runId === 'string' ? intern(v.runId, 'runId') : t.runId;
  t.worker = typeof v.worker === 'number' ? v.worker : t.worker;
  t.shard = typeof v.shard === 'string' ? intern(v.shard, 'shard') : t.shard;
}

/**
 * A new id's entry, built in one literal with its final values: starting from a blank
 * entry and assigning changed each field's kind (null to number, integer to float) and
 * cost V8 a shape migration per object, several microseconds per record.
 */
function fromRecord(id: string, v: Obj, startedAtMs: number): MergedTest {
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
    batch: typeof v.batch === 'string' ? intern(v.batch, 'batch') : null,
    tags: Array.isArray(v.tags) ? internTags(v.tags as string[]) : EMPTY,
    startedAtMs,
    flaky: false,
    hadBad: false,
    runId: typeof v.runId === 'string' ? intern(v.runId, 'runId') : null,
    worker: typeof v.worker === 'number' ? v.worker : null,
    shard: typeof v.shard === 'string' ? intern(v.shard, 'shard') : null,
  };
}

/** Folds one validated result record into the state. */
export function addResult(state: MergeState, v: Obj): void {
  state.recordsRead++;
  const id = v.id as string;
  const attempts = typeof v.attempts === 'number' ? v.attempts : 1;
  const startedAtMs = startMs(v.startedAt);
  let t = state.tests.get(id);
  if (!t) {
    t = fromRecord(id, v, startedAtMs);
    state.tests.set(id, t);
  } else {
    if (t.records > 0) state.superseded++;
    if (t.records === 0 || wins(t, startedAtMs)) take(t, v, startedAtMs);
  }
  // Any failed or errored try of this id (a record, or a retried attempt inside one).
  if (isBad(v.status) || attempts > 1) t.hadBad = true;
  t.records++;
  t.attempts += attempts;
  t.flaky = t.status === 'passed' && t.hadBad;
}
