import { join } from 'node:path';

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYYMMDD_HHMMSS` in local time, as in the guide's report names. */
export function reportTimestamp(date = new Date()): string {
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}_${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

export function defaultOutputNames(dir: string, date = new Date()) {
  const ts = reportTimestamp(date);
  return {
    json: join(dir, `aggregated_results_${ts}.json`),
    csv: join(dir, `aggregated_results_${ts}.csv`),
    report: join(dir, `test_summary_report_${ts}.txt`),
  };
}
