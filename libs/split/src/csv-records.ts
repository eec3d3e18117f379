import { InputError, type TestRecord } from '@capi/core';
import { FieldError } from './cell-values.js';
import { mapColumns } from './columns.js';
import { csvRows } from './csv-rows.js';
import { flowScope } from './flow-scope.js';
import { type RowConverter, rowConverter } from './row-to-record.js';
import { CSV_FIELDS, checkTemplates } from './template-check.js';
import { unusedColumns } from './unused-columns.js';

/**
 * A row that became a test (with the input line it came from), or the error that row has:
 * the caller decides whether to skip it.
 */
export type RowOutcome = { record: TestRecord; line: number } | InputError;

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
  let varNames: ReadonlySet<string> = new Set();
  const scope = flowScope();
  for await (const rows of csvRows(chunks, source)) {
    const out: RowOutcome[] = [];
    for (const { cells, line } of rows) {
      if (toRecord === null) {
        const map = mapColumns(cells, line, source, autoId, varsColumns);
        toRecord = rowConverter(map, source, autoId);
        unused = unusedColumns(map, source, line);
        varNames = new Set(map.vars.map((v) => v.name));
        continue;
      }
      try {
        const record = toRecord(cells, line);
        scope.place(record, varNames);
        checkTemplates(
          record,
          CSV_FIELDS,
          () => scope.known(record, varNames),
          unused?.use,
          (name, problem) => scope.explain(record, name, problem),
        );
        scope.learn(record);
        out.push({ record, line });
      } catch (err) {
        if (!(err instanceof FieldError)) throw err;
        out.push(new InputError(source, line, err.message));
      }
    }
    if (out.length > 0) yield out;
  }
  if (toRecord === null) throw new InputError(source, 1, 'empty file: expected a header row');
  unused?.check();
}
