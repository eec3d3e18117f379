import type { TestCounts } from './records.js';

/** Counts of nothing yet. */
export const noCounts = (): TestCounts => ({ done: 0, passed: 0, failed: 0, errors: 0, skipped: 0 });

/** One more result of `status` in `c` (a status outside RESULT_STATUSES counts as done only). */
export function countStatus(c: TestCounts, status: string): void {
  c.done++;
  if (status === 'passed') c.passed++;
  else if (status === 'failed') c.failed++;
  else if (status === 'error') c.errors++;
  else if (status === 'skipped') c.skipped++;
}

/** `d` added into `c`. */
export function addCounts(c: TestCounts, d: TestCounts): void {
  c.done += d.done;
  c.passed += d.passed;
  c.failed += d.failed;
  c.errors += d.errors;
  c.skipped += d.skipped;
}
