import { InputError, type TestRecord } from '@capi/core';
import { FieldError } from './cell-values.js';
import { mapColumns } from './columns.js';
import { csvRows } from './csv-rows.js';
import { type RowConverter, rowConverter } from './row-to-record.js';

/**
 * A row that became a test (with the input line it came from), or the error that row has:
 * the caller decides whether to skip it.
 */
export type RowOutcome = { record: TestRecord; line: number } | InputError;

/** CSV bytes → batches of records, the header row taken first. Broken CSV structure throws. */
export async function* csvRecords(
  chunks: AsyncIterable<Buffer>,
  source: string,
  autoId = false,
): AsyncGenerator<RowOutcome[]> {
  let toRecord: RowConverter | null = null;
  for await (const rows of csvRows(chunks, source)) {
    const out: RowOutcome[] = [];
    for (const { cells, line } of rows) {
      if (toRecord === null) {
        toRecord = rowConverter(mapColumns(cells, line, source, autoId), source, autoId);
        continue;
      }
      try {
        out.push({ record: toRecord(cells, line), line });
      } catch (err) {
        if (!(err instanceof FieldError)) throw err;
        out.push(new InputError(source, line, err.message));
      }
    }
    if (out.length > 0) yield out;
  }
  if (toRecord === null) throw new InputError(source, 1, 'empty file: expected a header row');
}
