import { csvHeader } from './csv-report.js';
import type { Sink } from './sink.js';
import type { Summary } from './summary.js';
import { STATUS_CODE, type TestTable } from './test-table.js';
import type { ThresholdResult } from './thresholds.js';

const NONE = Buffer.alloc(0);
const NEWLINE = Buffer.from('\n');
const COMMA_NEWLINE = Buffer.from(',\n');

export interface ReportMeta {
  title: string;
  generatedAt: string;
  verdict: 'passed' | 'failed';
  inputs: string[];
  runId: string | null;
}

/**
 * `aggregated_results_TIMESTAMP.json`: `{meta, summary, thresholds, tests: [...]}`. The
 * tests array is streamed one element at a time, each the row's text as the merge
 * rendered it (row-text.ts), copied from the spool as bytes; only the summary is built whole.
 * With the CSV report asked for too, its rows are written in the same pass.
 */
export async function writeJsonReport(
  sink: Sink,
  table: TestTable,
  summary: Summary,
  thresholds: ThresholdResult[],
  meta: ReportMeta,
  /** The CSV report too, written row by row alongside (csv-report.ts's bytes): one pass over the spool for both. */
  csv?: Sink,
): Promise<void> {
  const { timeline: _t, histogram: _h, ...rest } = summary;
  await sink.write(
    `{"meta":${JSON.stringify(meta)},\n"summary":${JSON.stringify(rest)},\n"thresholds":${JSON.stringify(thresholds)},\n"tests":[`,
  );
  if (csv) await csv.write(csvHeader());
  if (csv && table.csv) {
    // Both rows from one look at the row's text in the spool.
    for (let i = 0; i < table.size; i++) {
      const full = table.writeRecordAndCsv(i, sink, i === 0 ? NEWLINE : COMMA_NEWLINE, NONE, csv);
      if (full) await full;
    }
  } else {
    for (let i = 0; i < table.size; i++) {
      // Await only when the sink is full: one await per test would cost more than the write.
      const full = table.writeRecord(i, sink, i === 0 ? NEWLINE : COMMA_NEWLINE, NONE);
      if (full) await full;
      if (csv) {
        // the row's text is still in the spool's window: no second read of it
        const fullCsv = table.writeCsv(i, csv);
        if (fullCsv) await fullCsv;
      }
    }
  }
  await sink.write('\n]}\n');
}

/** Merged result records, one per line (missing ids have no result and are left out). */
export async function writeMergedNdjson(sink: Sink, table: TestTable): Promise<void> {
  for (let i = 0; i < table.size; i++) {
    if (table.status[i] === STATUS_CODE.missing) continue;
    const full = table.writeRecord(i, sink, NONE, NEWLINE);
    if (full) await full;
  }
}
