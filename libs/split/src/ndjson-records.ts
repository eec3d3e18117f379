import { InputError, normalizeTestRecord, readNdjson, validateTestRecord } from '@capi/core';
import { flowScope } from './flow-scope.js';
import { type RowOutcome, type RowPlace, rowOutcome } from './row-outcome.js';
import { NDJSON_FIELDS } from './template-check.js';

const BATCH = 512;

/**
 * NDJSON test records (for example from an earlier capi-split) → batches of normalized
 * records. A malformed JSON line throws; a record that fails validation is a row error.
 */
export async function* ndjsonRecords(chunks: AsyncIterable<Buffer>, source: string): AsyncGenerator<RowOutcome[]> {
  let batch: RowOutcome[] = [];
  const place: RowPlace = { scope: flowScope(), fields: NDJSON_FIELDS, source, line: 0, vars: new Set() };
  for await (const { value, line } of readNdjson(chunks, { source })) {
    const problem = validateTestRecord(value);
    if (problem !== null) batch.push(new InputError(source, line, problem));
    else {
      const record = normalizeTestRecord(value as Record<string, unknown>, 0);
      if (record.source === null) record.source = { file: source, line };
      place.line = line;
      place.vars = new Set(Object.keys(record.vars));
      batch.push(rowOutcome(() => record, place));
    }
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
