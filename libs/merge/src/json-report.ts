import { type MergedTest, toResultRecord } from './merged-test.js';
import type { Sink } from './sink.js';
import type { Summary } from './summary.js';
import type { ThresholdResult } from './thresholds.js';

export interface ReportMeta {
  title: string;
  generatedAt: string;
  verdict: 'passed' | 'failed';
  inputs: string[];
  runId: string | null;
}

/**
 * `aggregated_results_TIMESTAMP.json`: `{meta, summary, thresholds, tests: [...]}`. The
 * tests array is streamed one element at a time; only the summary is built whole.
 */
export async function writeJsonReport(
  sink: Sink,
  tests: Iterable<MergedTest>,
  summary: Summary,
  thresholds: ThresholdResult[],
  meta: ReportMeta,
): Promise<void> {
  const { timeline: _t, histogram: _h, ...rest } = summary;
  await sink.write(
    `{"meta":${JSON.stringify(meta)},\n"summary":${JSON.stringify(rest)},\n"thresholds":${JSON.stringify(thresholds)},\n"tests":[`,
  );
  let first = true;
  for (const t of tests) {
    // Await only when the sink is full: one await per test would cost more than the write.
    const full = sink.write(`${first ? '\n' : ',\n'}${JSON.stringify(toResultRecord(t))}`);
    if (full) await full;
    first = false;
  }
  await sink.write('\n]}\n');
}

/** Merged result records, one per line (missing ids have no result and are left out). */
export async function writeMergedNdjson(sink: Sink, tests: Iterable<MergedTest>): Promise<void> {
  for (const t of tests) {
    if (t.status === 'missing') continue;
    const full = sink.write(`${JSON.stringify(toResultRecord(t))}\n`);
    if (full) await full;
  }
}
