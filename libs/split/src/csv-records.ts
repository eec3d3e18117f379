import { csvRows, EMPTY_SUITE, InputError } from '@capi/core';
import { mapColumns } from './columns.js';
import { flowScope } from './flow-scope.js';
import { type RowOutcome, type RowPlace, rowOutcome } from './row-outcome.js';
import { type RowConverter, rowConverter } from './row-to-record.js';
import { CSV_FIELDS } from './template-check.js';
import { unusedColumns } from './unused-columns.js';

export type { RowOutcome } from './row-outcome.js';

/**
 * CSV bytes → batches of records, the header row taken first. Broken CSV structure throws;
 * so does, at the end of the input, a column that no template used and none declared.
 */
export async function* csvRecords(
  chunks: AsyncIterable<Buffer>,
  source: string,
  autoId = false,
  varsColumns: readonly string[] = [],
): AsyncGenerator<RowOutcome[]> {
  let toRecord: RowConverter | null = null;
  let unused: ReturnType<typeof unusedColumns> | null = null;
  // one place for every row (its line set per row): no object per row on the hot path
  const place: RowPlace = { scope: flowScope(), fields: CSV_FIELDS, source, line: 0, vars: new Set() };
  for await (const rows of csvRows(chunks, source)) {
    const out: RowOutcome[] = [];
    for (const { cells, line } of rows) {
      if (toRecord === null) {
        const map = mapColumns(cells, line, source, autoId, varsColumns);
        toRecord = rowConverter(map, source, autoId);
        unused = unusedColumns(map, source, line);
        place.vars = new Set(map.vars.map((v) => v.name));
        place.use = unused.use;
        continue;
      }
      const convert = toRecord;
      place.line = line;
      out.push(rowOutcome(() => convert(cells, line), place));
    }
    if (out.length > 0) yield out;
  }
  if (toRecord === null) throw new InputError(source, 1, EMPTY_SUITE);
  unused?.check();
}
