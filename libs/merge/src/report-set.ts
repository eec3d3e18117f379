import { readdir, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomHex } from '@capi/core';
import type { Outputs } from './outputs.js';

/**
 * One set of reports per report folder (docs/capi-merge.md, "Report names"): the guide's
 * timestamped names, and beside them stable `latest` names (symbolic links to the set
 * just written) for scripts and CI. A merge that wrote a new set removes the earlier
 * timestamped sets of that folder, so repeated `capi-merge RUN` never piles them up; it
 * runs only once every new report is in place, so a failed merge leaves the old set whole.
 */

/** The guide's timestamped report names (capi-merge's defaults), and nothing else. */
export const TIMESTAMPED_REPORT = /^(aggregated_results_\d{8}_\d{6}\.(json|csv)|test_summary_report_\d{8}_\d{6}\.txt)$/;

export const LATEST_NAMES = {
  json: 'aggregated_results_latest.json',
  csv: 'aggregated_results_latest.csv',
  report: 'test_summary_report_latest.txt',
} as const;

async function pointAt(dir: string, name: string, target: string): Promise<void> {
  const tmp = join(dir, `.${name}.${process.pid}-${randomHex(4)}`);
  await symlink(target, tmp);
  await rename(tmp, join(dir, name)).catch(async (err) => {
    await rm(tmp, { force: true });
    throw err;
  });
}

/** After a merge that wrote the default set into `reportDir`: latest names moved, earlier sets removed. */
export async function replaceReportSet(reportDir: string, outputs: Outputs): Promise<string[]> {
  const fresh = new Set<string>();
  for (const kind of ['json', 'csv', 'report'] as const) {
    const path = outputs[kind];
    if (!path || path === '-' || dirname(path) !== reportDir) continue;
    fresh.add(basename(path));
    await pointAt(reportDir, LATEST_NAMES[kind], basename(path));
  }
  if (fresh.size === 0) return [];
  const removed: string[] = [];
  for (const name of await readdir(reportDir)) {
    if (!TIMESTAMPED_REPORT.test(name) || fresh.has(name)) continue;
    await rm(join(reportDir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
