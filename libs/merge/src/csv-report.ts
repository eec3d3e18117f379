import { stringify } from 'csv-stringify/sync';
import { cleanText } from './clean-text.js';
import { errorText, failureText, type MergedTest } from './merged-test.js';
import type { Sink } from './sink.js';

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

/**
 * Every text cell is cleaned of escape sequences and control characters first (a CSV is
 * also read with `cat`; docs/formats.md, "Text from outside"). Then: a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (or tab/CR before one) as
 * a formula; a leading `'` makes it text (the OWASP advice for CSV injection).
 */
export function neutralize(text: string): string {
  const cell = cleanText(text);
  return /^[=+\-@\t\r\n]/.test(cell) ? `'${cell}` : cell;
}

function row(t: MergedTest): Array<string | number> {
  return [
    neutralize(t.id),
    neutralize(t.name),
    t.status,
    t.httpStatus ?? '',
    t.status === 'missing' ? '' : Number(t.durationMs.toFixed(3)),
    t.attempts,
    neutralize(failureText(t, 1000)),
    neutralize(errorText(t)),
    neutralize(t.batch ?? ''),
    neutralize(t.tags.join(';')),
    neutralize(t.host ?? ''),
  ];
}

/** One row per test, written a thousand rows per csv-stringify call. */
export async function writeCsvReport(sink: Sink, tests: Iterable<MergedTest>): Promise<void> {
  await sink.write(stringify([CSV_COLUMNS]));
  let rows: Array<Array<string | number>> = [];
  for (const t of tests) {
    rows.push(row(t));
    if (rows.length === 1000) {
      await sink.write(stringify(rows));
      rows = [];
    }
  }
  if (rows.length > 0) await sink.write(stringify(rows));
}
