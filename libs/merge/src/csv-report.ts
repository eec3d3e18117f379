import { stringify } from 'csv-stringify/sync';
import type { Sink } from './sink.js';
import type { TestTable } from './test-table.js';

export { neutralize } from './row-text.js';

export const CSV_COLUMNS = [
  'id',
  'name',
  'status',
  'http_status',
  'duration_ms',
  'attempts',
  'failure',
  'error',
  'batch',
  'tags',
  'host',
];

/** The CSV report's first line. */
export const csvHeader = (): string => stringify([CSV_COLUMNS]);

/**
 * One row per test, as csv-stringify's defaults quote it. Each row's text was rendered
 * when its record won (row-text.ts: cells cleaned and guarded against formulas); a table
 * that kept no CSV text (none was asked for when it was read) renders it here.
 */
export async function writeCsvReport(sink: Sink, table: TestTable): Promise<void> {
  await sink.write(csvHeader());
  for (let i = 0; i < table.size; i++) {
    const full = table.writeCsv(i, sink);
    if (full) await full;
  }
}
