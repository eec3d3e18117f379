import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readJournal, runPaths } from '@capi/core';

export interface ResultCounts {
  results: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  /** Malformed lines in the middle of a journal, not counted (a resume moves them to `<journal>.bad`). */
  bad: number;
}

/**
 * Setup and teardown results (flows) are not tests: every process writes its own, under
 * the same ids in every batch, and a re-login writes more. Counts, completeness and
 * reruns skip them.
 */
const isPhase = (r: { phase?: unknown } | null) => r?.phase === 'setup' || r?.phase === 'teardown';

/**
 * Counts the final results in a run's journals, one per id (the last record of an id
 * wins: a flow re-run on resume replaces its earlier partial results). Ids are distinct per batch, never across batches, so memory holds one batch.
 */
export async function countResults(runDir: string, batches: string[]): Promise<ResultCounts> {
  const paths = runPaths(runDir);
  return countFiles(batches.map((b) => paths.resultFile(b)));
}

/** Counts journals, one per id in each (the last record wins); ids are distinct from file to file. */
export async function countFiles(files: string[]): Promise<ResultCounts> {
  const c: ResultCounts = { results: 0, passed: 0, failed: 0, errors: 0, skipped: 0, bad: 0 };
  const onBadLine = () => {
    c.bad++;
  };
  for (const file of files) {
    const last = new Map<string, string>();
    // a live worker may be writing the last line right now: a torn tail is not counted;
    // one corrupt line mid-journal does not stop --status or the supervisor's counts
    for await (const { value } of readJournal(file, { onTornTail: () => {}, onBadLine })) {
      const r = value as { id: string; status: string; phase?: unknown } | null;
      if (typeof r?.id !== 'string') {
        c.bad++;
        continue;
      }
      if (!isPhase(r)) last.set(r.id, r.status);
    }
    for (const status of last.values()) tally(c, status);
  }
  return c;
}

/** Ids whose last result is failed or errored, with the batch that holds them. */
export async function* failedIds(runDir: string, batches: string[]): AsyncGenerator<string> {
  const paths = runPaths(runDir);
  for (const batch of batches) {
    const last = new Map<string, string>();
    for await (const { value } of readJournal(paths.resultFile(batch))) {
      const r = value as { id: string; status: string; phase?: unknown };
      if (!isPhase(r)) last.set(r.id, r.status);
    }
    for (const [id, status] of last) if (status === 'failed' || status === 'error') yield id;
  }
}

/** How many distinct ids a batch journal holds: a batch is done when it holds them all. */
export async function journalCount(runDir: string, batch: string): Promise<number> {
  const ids = new Set<string>();
  const journal = runPaths(runDir).resultFile(batch);
  for await (const { value } of readJournal(journal, { onTornTail: () => {}, onBadLine: () => {} })) {
    const r = value as { id?: unknown; phase?: unknown } | null;
    if (typeof r?.id === 'string' && !isPhase(r)) ids.add(r.id);
  }
  return ids.size;
}

/** Where a run's results are now: its journals, or the merged report once `capi-merge --clean` removed them. */
export type CountSource = 'journals' | 'report' | 'none';

/**
 * A run's counts from its results on disk: every journal in results/ (so restarts and
 * resumes are counted, unlike heartbeats, which count one capi-exec process), or
 * report/results.ndjson when the journals were cleaned away.
 */
export async function runCounts(runDir: string): Promise<ResultCounts & { source: CountSource }> {
  const paths = runPaths(runDir);
  const names = await readdir(paths.results).catch(() => null);
  const journals = (names ?? []).filter((n) => n.endsWith('.ndjson')).sort();
  if (journals.length > 0) {
    const c: ResultCounts = { results: 0, passed: 0, failed: 0, errors: 0, skipped: 0, bad: 0 };
    for (const name of journals) add(c, await journalCounts(join(paths.results, name)));
    return { ...c, source: 'journals' };
  }
  // one record per id in the merged report: no map of ids (it may hold millions)
  const c: ResultCounts = { results: 0, passed: 0, failed: 0, errors: 0, skipped: 0, bad: 0 };
  for await (const { value } of readJournal(join(paths.report, 'results.ndjson')))
    if (!isPhase(value as Status)) tally(c, (value as Status).status);
  return { ...c, source: c.results > 0 ? 'report' : 'none' };
}

interface Status {
  id: string;
  status: string;
  phase?: unknown;
}

function tally(c: ResultCounts, status: string): void {
  c.results++;
  if (status === 'passed') c.passed++;
  else if (status === 'failed') c.failed++;
  else if (status === 'error') c.errors++;
  else if (status === 'skipped') c.skipped++;
}

function add(c: ResultCounts, d: ResultCounts): void {
  c.results += d.results;
  c.passed += d.passed;
  c.failed += d.failed;
  c.errors += d.errors;
  c.skipped += d.skipped;
}

/**
 * A journal's counts, remembered by size and mtime: a process that looks again and
 * again (`--wait`) rereads only the journals of running batches. Small: 5 numbers a batch.
 */
const journalCache = new Map<string, { size: number; mtimeMs: number; counts: ResultCounts }>();

async function journalCounts(file: string): Promise<ResultCounts> {
  const st = await stat(file).catch(() => null);
  if (!st) return { results: 0, passed: 0, failed: 0, errors: 0, skipped: 0, bad: 0 };
  const hit = journalCache.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.counts;
  const counts = await countFiles([file]);
  journalCache.set(file, { size: st.size, mtimeMs: st.mtimeMs, counts });
  return counts;
}
