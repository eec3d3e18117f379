import {
  InputError,
  inShard,
  normalizeTestRecord,
  readNdjson,
  type Shard,
  type TestRecord,
  validateTestRecord,
} from '@capi/core';

/**
 * Test records from NDJSON, validated; only this shard's. With `unique` (a journal holds
 * each id once), a repeated id is bad input named at the input line where it came again:
 * `<stdin>:4: field "id": duplicate id "T0001" (first at line 1; suite.csv:5)`.
 */
export async function* readTestRecords(
  input: AsyncIterable<Buffer | string>,
  source: string,
  shard: Shard | null,
  unique = false,
): AsyncGenerator<TestRecord> {
  let seq = 0;
  const firstLine = unique ? new Map<string, number>() : null;
  for await (const { value, line } of readNdjson(input, { source })) {
    const problem = validateTestRecord(value);
    if (problem) throw new InputError(source, line, problem);
    const rec = normalizeTestRecord(value as Record<string, unknown>, seq++);
    if (shard && !inShard(rec.id, shard)) continue;
    if (firstLine) {
      const first = firstLine.get(rec.id);
      if (first !== undefined) {
        const row = rec.source ? `; ${rec.source.file}${rec.source.line ? `:${rec.source.line}` : ''}` : '';
        throw new InputError(
          source,
          line,
          `field "id": duplicate id ${JSON.stringify(rec.id)} (first at line ${first}${row})`,
        );
      }
      firstLine.set(rec.id, line);
    }
    yield rec;
  }
}
