import type { TestCounts } from '@capi/core';
import type { MaxErrors } from './rate.js';

/** The minimum number of finished tests before a percentage --max-errors can stop a run. */
export const MAX_ERRORS_MIN_SAMPLE = 20;

/** Why `--max-errors` stops the run now, in words; null while it may go on. */
export function tooManyErrors(counts: TestCounts, max: MaxErrors | null): string | null {
  if (!max) return null;
  const ran = counts.passed + counts.failed + counts.errors;
  if (max.count !== null && counts.errors > max.count)
    return `${counts.errors} tests errored, more than --max-errors ${max.count}`;
  if (max.percent !== null && ran >= MAX_ERRORS_MIN_SAMPLE && (counts.errors / ran) * 100 > max.percent)
    return `${counts.errors} of ${ran} tests errored (${((counts.errors / ran) * 100).toFixed(1)}%), more than --max-errors ${max.percent}%`;
  return null;
}
