import type { ResultStatus } from './records.js';

/**
 * How many tests have a result, and of what status: the one count type of heartbeats,
 * capi-exec's live state, capi-watch's views, capi-launch's status and capi-merge's
 * summary (which adds its own `missing`, `flaky` and `total`). The word is `errors` for
 * tests whose status is `error`, everywhere.
 */
export interface TestCounts {
  done: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
}

/** The count a result of each status adds to. */
export const COUNT_OF_STATUS: Readonly<Record<ResultStatus, 'passed' | 'failed' | 'errors' | 'skipped'>> = {
  passed: 'passed',
  failed: 'failed',
  error: 'errors',
  skipped: 'skipped',
};

export const emptyTestCounts = (): TestCounts => ({ done: 0, passed: 0, failed: 0, errors: 0, skipped: 0 });

/** Counts one result of `status`. */
export function countResult(counts: TestCounts, status: ResultStatus): void {
  counts.done++;
  counts[COUNT_OF_STATUS[status]]++;
}

/** Adds `more` into `sum`. */
export function addTestCounts(sum: TestCounts, more: TestCounts): void {
  sum.done += more.done;
  sum.passed += more.passed;
  sum.failed += more.failed;
  sum.errors += more.errors;
  sum.skipped += more.skipped;
}

/** The counts alone, copied out of a larger record (a heartbeat, a live state). */
export const testCountsOf = (c: TestCounts): TestCounts => ({
  done: c.done,
  passed: c.passed,
  failed: c.failed,
  errors: c.errors,
  skipped: c.skipped,
});
