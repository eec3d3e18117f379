import { readJournal, runPaths } from '@capi/core';

export interface ResultCounts {
  results: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
}

/**
 * Counts the final results in a run's journals, one per id (the last record of an id
 * wins). Ids are distinct per batch, never across batches, so memory holds one batch.
 */
export async function countResults(runDir: string, batches: string[]): Promise<ResultCounts> {
  const c: ResultCounts = { results: 0, passed: 0, failed: 0, errors: 0, skipped: 0 };
  const paths = runPaths(runDir);
  for (const batch of batches) {
    const last = new Map<string, string>();
    for await (const { value } of readJournal(paths.resultFile(batch))) {
      const r = value as { id: string; status: string };
      last.set(r.id, r.status);
    }
    for (const status of last.values()) {
      c.results++;
      if (status === 'passed') c.passed++;
      else if (status === 'failed') c.failed++;
      else if (status === 'error') c.errors++;
      else if (status === 'skipped') c.skipped++;
    }
  }
  return c;
}

/** Ids whose last result is failed or errored, with the batch that holds them. */
export async function* failedIds(runDir: string, batches: string[]): AsyncGenerator<string> {
  const paths = runPaths(runDir);
  for (const batch of batches) {
    const last = new Map<string, string>();
    for await (const { value } of readJournal(paths.resultFile(batch))) {
      const r = value as { id: string; status: string };
      last.set(r.id, r.status);
    }
    for (const [id, status] of last) if (status === 'failed' || status === 'error') yield id;
  }
}

/** How many distinct ids a batch journal holds: a batch is done when it holds them all. */
export async function journalCount(runDir: string, batch: string): Promise<number> {
  const ids = new Set<string>();
  for await (const { value } of readJournal(runPaths(runDir).resultFile(batch), { onTornTail: () => {} }))
    ids.add((value as { id: string }).id);
  return ids.size;
}
