import { InputError, normalizeTestRecord, readNdjson, validateTestRecord } from '@capi/core';
import { FieldError } from './cell-values.js';
import type { RowOutcome } from './csv-records.js';
import { flowScope } from './flow-scope.js';
import { checkTemplates, NDJSON_FIELDS } from './template-check.js';

const BATCH = 512;

/**
 * NDJSON test records (for example from an earlier capi-split) → batches of normalized
 * records. A malformed JSON line throws; a record that fails validation is a row error.
 */
export async function* ndjsonRecords(chunks: AsyncIterable<Buffer>, source: string): AsyncGenerator<RowOutcome[]> {
  let batch: RowOutcome[] = [];
  const scope = flowScope();
  for await (const { value, line } of readNdjson(chunks, { source })) {
    const problem = validateTestRecord(value);
    if (problem !== null) batch.push(new InputError(source, line, problem));
    else {
      const record = normalizeTestRecord(value as Record<string, unknown>, 0);
      if (record.source === null) record.source = { file: source, line };
      try {
        const vars = new Set(Object.keys(record.vars));
        scope.place(record, vars);
        checkTemplates(
          record,
          NDJSON_FIELDS,
          () => scope.known(record, vars),
          undefined,
          (name, problem) => scope.explain(record, name, problem),
        );
        scope.learn(record);
        batch.push({ record, line });
      } catch (err) {
        if (!(err instanceof FieldError)) throw err;
        batch.push(new InputError(source, line, err.message));
      }
    }
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
