import {
  InputError,
  inShard,
  normalizeTestRecord,
  readNdjson,
  type Shard,
  type TestRecord,
  validateTestRecord,
} from '@capi/core';

/** Test records from NDJSON, validated, with the line they came from; only this shard's. */
export async function* readTestRecords(
  input: AsyncIterable<Buffer | string>,
  source: string,
  shard: Shard | null,
): AsyncGenerator<TestRecord> {
  let seq = 0;
  for await (const { value, line } of readNdjson(input, { source })) {
    const problem = validateTestRecord(value);
    if (problem) throw new InputError(source, line, problem);
    const rec = normalizeTestRecord(value as Record<string, unknown>, seq++);
    if (shard && !inShard(rec.id, shard)) continue;
    yield rec;
  }
}
