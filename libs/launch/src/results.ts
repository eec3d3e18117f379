import { statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  addTestCounts,
  countResult,
  createTeardownTally,
  emptyTestCounts,
  isPhaseResult,
  lastResults,
  REPORT_NAMES,
  readJournal,
  runPaths,
  type TestCounts,
} from '@capi/core';

/**
 * A run's results as capi-launch counts them, from its journals by core's one reader of
 * "each test's last result" (`lastResults`): a test run again has more than one line,
 * and setup and teardown results (flows) are not tests, so counts, completeness and
 * reruns skip them.
 * Ids are distinct per batch, never across batches, so memory holds one batch.
 */
export interface ResultCounts extends TestCounts {
  /** Malformed lines in the middle of a journal, not counted (a resume moves them to `<journal>.bad`). */
  bad: number;
  /** Teardown rows whose last result in their journal failed or errored (core `createTeardownTally`): they fail the run. */
  teardownFailed: number;
}

const noResults = (): ResultCounts => ({ ...emptyTestCounts(), bad: 0, teardownFailed: 0 });

function addResultCounts(sum: ResultCounts, more: ResultCounts): void {
  addTestCounts(sum, more);
  sum.bad += more.bad;
  sum.teardownFailed += more.teardownFailed;
}

/** One journal's counts; a live worker may be writing its last line (a torn tail is not counted). */
async function countJournal(file: string): Promise<ResultCounts> {
  const c = noResults();
  const onBad = () => {
    c.bad++;
  };
  const teardown = createTeardownTally();
  // one corrupt line mid-journal does not stop --status or the supervisor's counts
  const last = await lastResults(file, (r) => r.status, {
    onBadLine: onBad,
    onNotResult: onBad,
    onPhaseResult: (r) => teardown.add(r),
  });
  for (const status of last.values()) countResult(c, status);
  c.teardownFailed = teardown.failed;
  return c;
}

/**
 * The counts of the journals of `batches`. Remembered (cachedCounts): the supervisor read
 * each batch's journal when the batch ended, and the run's end reads them all again.
 */
export async function countResults(runDir: string, batches: string[]): Promise<ResultCounts> {
  const c = noResults();
  for (const batch of batches) {
    addResultCounts(c, await cachedCounts(runPaths(runDir).resultFile(batch)));
  }
  return c;
}

/** Ids whose last result is failed or errored, batch after batch. */
export async function* failedIds(runDir: string, batches: string[]): AsyncGenerator<string> {
  for (const batch of batches) {
    const last = await lastResults(runPaths(runDir).resultFile(batch), (r) => r.status);
    for (const [id, status] of last) if (status === 'failed' || status === 'error') yield id;
  }
}

/** How many distinct test ids a batch journal holds: a batch is done when it holds them all. */
export async function journalCount(runDir: string, batch: string): Promise<number> {
  return (await cachedCounts(runPaths(runDir).resultFile(batch))).done;
}

/** Where a run's results are now: its journals, or the merged report once `capi-merge --clean` removed them. */
export type CountSource = 'journals' | 'report' | 'none';

/**
 * A run's counts from its results on disk: every journal in results/ (so restarts and
 * resumes are counted, unlike heartbeats, which count one capi-exec process), or
 * capi-merge's merged results in report/ when the journals were cleaned away.
 */
export async function runCounts(runDir: string): Promise<ResultCounts & { source: CountSource }> {
  const paths = runPaths(runDir);
  const names = await readdir(paths.results).catch(() => null);
  const journals = (names ?? []).filter((n) => n.endsWith('.ndjson')).sort();
  const c = noResults();
  if (journals.length > 0) {
    for (const name of journals) {
      addResultCounts(c, await cachedCounts(join(paths.results, name)));
    }
    return { ...c, source: 'journals' };
  }
  // one record per id in the merged report: no map of ids (it may hold millions)
  const teardown = createTeardownTally();
  for await (const { value } of readJournal(join(paths.report, REPORT_NAMES.merged))) {
    const r = value as { id: string; status: string; phase?: unknown; batch?: unknown };
    if (!isPhaseResult(r)) countResult(c, r.status);
    else teardown.add(r, String(r.batch));
  }
  c.teardownFailed = teardown.failed;
  return { ...c, source: c.done > 0 ? 'report' : 'none' };
}

/**
 * A journal's counts, remembered by size and mtime: a process that looks again and
 * again (`--wait`) rereads only the journals of running batches. Small: 6 numbers a batch.
 */
const journalCache = new Map<string, { size: number; mtimeMs: number; counts: ResultCounts }>();

async function cachedCounts(file: string): Promise<ResultCounts> {
  // statSync: the run's end looks at every batch's journal (10,000 for a million tests),
  // one thread-pool round trip each otherwise
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file, { throwIfNoEntry: false });
  } catch {
    st = undefined;
  }
  if (!st) return noResults();
  const hit = journalCache.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.counts;
  const counts = await countJournal(file);
  journalCache.set(file, { size: st.size, mtimeMs: st.mtimeMs, counts });
  return counts;
}
