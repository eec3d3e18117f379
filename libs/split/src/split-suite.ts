import { InputError, idLines, recordLineProblem, type TestRecord, utf8Chunks } from '@capi/core';
import { csvRecords, type RowOutcome } from './csv-records.js';
import { recordFilter } from './filters.js';
import { ndjsonRecords } from './ndjson-records.js';
import { MAX_PHASE_ROWS, PROGRESS_EVERY, type SplitOptions, type SuiteBytes } from './options.js';
import { sniffFormat } from './sniff-format.js';

/**
 * A suite (CSV or NDJSON test records) → test records, in suite order, numbered by `seq`
 * after the filters. The whole input is always checked, so a range, tag, grep or shard
 * never hides a broken row or a duplicate id. Bad input throws InputError (`file:line:`),
 * or with `lenient` is skipped through `onSkip`.
 */
export async function* splitSuite(input: SuiteBytes, options: SplitOptions): AsyncGenerator<TestRecord> {
  for await (const batch of splitSuiteBatches(input, options)) yield* batch;
}

/** The same as splitSuite, a batch of records per parsed chunk: one await per chunk, for speed. */
export async function* splitSuiteBatches(input: SuiteBytes, options: SplitOptions): AsyncGenerator<TestRecord[]> {
  const { source } = options;
  const sniffed = await sniffFormat(utf8Chunks(input, source), options.format ?? 'auto', source);
  if (sniffed.format === 'ndjson' && (options.varsColumns?.length ?? 0) > 0)
    throw new InputError(
      source,
      undefined,
      '--vars-columns names CSV columns; NDJSON test records carry their own vars',
    );
  const outcomes =
    sniffed.format === 'csv'
      ? csvRecords(sniffed.chunks, source, options.autoId, options.varsColumns)
      : ndjsonRecords(sniffed.chunks, source);
  const keep = recordFilter(options);
  const seen = idLines();
  let rowIndex = 0;
  let seq = 0;
  // Teardown rows go last, after every test, wherever the suite has them (they run last).
  const teardown: TestRecord[] = [];
  let phaseRows = 0;
  for await (const batch of outcomes) {
    const out: TestRecord[] = [];
    for (const outcome of batch) {
      const index = rowIndex++;
      if (index % PROGRESS_EVERY === 0 && index > 0) options.onProgress?.(index);
      const record = checked(outcome, seen, options);
      if (record === null || (keep !== null && !keep(record, index))) continue;
      if (record.phase !== undefined && ++phaseRows > MAX_PHASE_ROWS)
        throw new InputError(
          options.source,
          record.source?.line,
          `more than ${MAX_PHASE_ROWS} setup and teardown rows (each batch carries them all)`,
        );
      if (record.phase === 'teardown') teardown.push(record);
      else {
        record.seq = seq++;
        out.push(record);
      }
    }
    if (out.length > 0) yield out;
  }
  for (const record of teardown) record.seq = seq++;
  if (teardown.length > 0) yield teardown;
  options.onProgress?.(rowIndex);
}

/** The record, or null when it is bad and skipped (lenient); throws when it is bad otherwise. */
function checked(outcome: RowOutcome, seen: ReturnType<typeof idLines>, options: SplitOptions): TestRecord | null {
  let problem = outcome instanceof InputError ? outcome : null;
  if (!(outcome instanceof InputError)) {
    const { record, line } = outcome;
    const tooLong = recordLineProblem(record);
    const first = tooLong ? 0 : seen.firstLine(record.id, line);
    if (first === 0 && !tooLong) return record;
    problem = new InputError(
      options.source,
      line,
      tooLong ?? `duplicate id ${JSON.stringify(record.id)} (first at line ${first})`,
    );
  }
  if (!options.lenient) throw problem;
  options.onSkip?.(problem as InputError);
  return null;
}
