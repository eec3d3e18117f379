import { passRate, type StatusHeartbeat, testCountsOf } from '@capi/core';
import type { BatchState, FailureEntry, RunState } from './run-state.js';

/**
 * The snapshot's per-batch table and failure list, and the stall rule they share with
 * the run's own state (snapshot.ts): a heartbeat of a starting or running batch older
 * than `--stall` seconds is STALLED; a batch whose worker is gone is DEAD.
 */
export type FailureFilter = 'all' | 'failed' | 'errors';

export interface BatchRow {
  batch: string;
  pid: number | null;
  state: string;
  done: number;
  total: number | null;
  passRate: number | null;
  rate: number | null;
  current: string | null;
}

export interface RowOptions {
  now: number;
  stallAfterS: number;
  failureFilter?: FailureFilter;
  maxFailures?: number;
  maxBatches?: number;
}

export const FINAL = new Set(['completed', 'stopped', 'failed']);
export const ACTIVE = new Set(['starting', 'running']);

export const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : Number.NaN);

export function isStalled(hb: StatusHeartbeat | null, opts: RowOptions): boolean {
  return !!hb && ACTIVE.has(hb.state) && opts.now - ms(hb.updatedAt) > opts.stallAfterS * 1000;
}

function rowState(b: BatchState, state: RunState, opts: RowOptions): string {
  const hb = b.heartbeat;
  if (!hb) return b.fromReport ? 'completed' : 'pending';
  if (!FINAL.has(hb.state) && state.alive.get(hb.pid) === false) return 'DEAD';
  if (isStalled(hb, opts)) return 'STALLED';
  return hb.state;
}

export function batchStates(state: RunState, opts: RowOptions): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of state.batches.values()) {
    const s = rowState(b, state, opts);
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}

const ORDER: Record<string, number> = { DEAD: 0, STALLED: 1, running: 2, starting: 3, stopping: 4, paused: 5 };

export function batchRows(state: RunState, opts: RowOptions): BatchRow[] {
  const rows = [...state.batches.values()].map((b) => {
    const hb = b.heartbeat;
    const c = b.hasJournal || !hb ? b.counts : testCountsOf(hb);
    const s = rowState(b, state, opts);
    return {
      batch: hb?.batch ?? b.key,
      pid: hb?.pid ?? null,
      state: s,
      done: c.done,
      total: hb?.total ?? state.indexCounts.get(b.key) ?? null,
      passRate: passRate({ passed: c.passed, failed: c.failed, errors: c.errors, missing: 0 }),
      rate: hb && ACTIVE.has(hb.state) ? Number(hb.rate) || 0 : null,
      current: hb && ACTIVE.has(hb.state) ? (hb.inFlight?.[0] ?? null) : null,
    };
  });
  // Trouble first, then live batches, then the finished ones, newest name first.
  rows.sort((a, b) => (ORDER[a.state] ?? 9) - (ORDER[b.state] ?? 9) || (a.batch < b.batch ? 1 : -1));
  return rows.slice(0, opts.maxBatches ?? 50);
}

/** The failure ring's newest entries, as they are, that pass the `f` filter. */
export function failureRows(state: RunState, opts: RowOptions): FailureEntry[] {
  const filter = opts.failureFilter ?? 'all';
  const rows = state.failures.filter(
    (f) => filter === 'all' || (filter === 'failed' ? f.status === 'failed' : f.status === 'error'),
  );
  return rows.slice(-(opts.maxFailures ?? 20));
}
