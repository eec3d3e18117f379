import {
  InputError,
  inShard,
  normalizeTestRecord,
  readNdjson,
  type Shard,
  type TestRecord,
  validateTestRecord,
} from '@capi/core';

export interface ReadOptions {
  /** A journal holds each id once: a repeated id is bad input. */
  unique?: boolean;
  /**
   * A problem with a record that makes the run itself wrong (a relative URL and no base
   * URL): a message, thrown as bad input at the record's line before it is yielded.
   */
  check?: (rec: TestRecord) => string | null;
}

/** The suite row of a record, for messages: `suite.csv:5`, or ''. */
export function suiteRow(rec: TestRecord): string {
  return rec.source ? `${rec.source.file}${rec.source.line ? `:${rec.source.line}` : ''}` : '';
}

/**
 * Test records from NDJSON, validated; only this shard's. With `unique` (a journal holds
 * each id once), a repeated id is bad input named at the input line where it came again:
 * `<stdin>:4: field "id": duplicate id "T0001" (first at line 1; suite.csv:5)`.
 */
export async function* readTestRecords(
  input: AsyncIterable<Buffer | string>,
  source: string,
  shard: Shard | null,
  options: ReadOptions = {},
): AsyncGenerator<TestRecord> {
  let seq = 0;
  const firstLine = options.unique ? new Map<string, number>() : null;
  for await (const { value, line } of readNdjson(input, { source })) {
    const problem = validateTestRecord(value);
    if (problem) throw new InputError(source, line, problem);
    const rec = normalizeTestRecord(value as Record<string, unknown>, seq++);
    // Flows stay whole in a shard (by flow name), setup and teardown rows are in every
    // shard: the same rule as capi-split --shard (libs/split/src/filters.ts).
    if (shard && rec.phase === undefined && !inShard(rec.flow ?? rec.id, shard)) continue;
    if (firstLine) {
      const first = firstLine.get(rec.id);
      if (first !== undefined) {
        const row = suiteRow(rec);
        throw new InputError(
          source,
          line,
          `field "id": duplicate id ${JSON.stringify(rec.id)} (first at line ${first}${row ? `; ${row}` : ''})`,
        );
      }
      firstLine.set(rec.id, line);
    }
    const wrong = options.check?.(rec);
    if (wrong) throw new InputError(source, line, wrong);
    yield rec;
  }
}
