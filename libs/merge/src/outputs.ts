import { join, resolve } from 'node:path';
import { REPORT_NAMES, UsageError } from '@capi/core';
import { defaultOutputNames } from './timestamp.js';

/** Where each output goes (absolute path, or `-` for stdout); absent ones are not written. */
export interface Outputs {
  json?: string;
  csv?: string;
  report?: string;
  junit?: string;
  html?: string;
  /** Merged result records (`--ndjson`): stdout. */
  ndjson?: string;
  /** With --clean: the merged results that replace results/*.ndjson. */
  merged?: string;
}

/** What a merge writes, as the flags chose it. */
export interface OutputChoices {
  /** Paths of the three default reports; `-` is stdout, `false` skips one. */
  outputJson?: string | false;
  outputCsv?: string | false;
  outputReport?: string | false;
  junit?: string;
  html?: string;
  /** Stream the merged result records to stdout. */
  ndjson?: boolean;
  /** After every output is written, remove the run's intermediates. */
  clean?: boolean;
  now?: Date;
}

/**
 * Default reports go to `reportDir` with the guide's names; a flag chooses another path or
 * `-`. A run folder always gets its three reports. Loose files and stdin get them only
 * when no output was asked for: `capi-exec … | capi-merge --junit j.xml` in a pipeline
 * must not leave three timestamped files behind in the current folder on every run.
 */
export function planOutputs(o: OutputChoices, reportDir: string, cwd: string, isRun = true): Outputs {
  const names = defaultOutputNames(reportDir, o.now);
  const asked = [o.outputJson, o.outputCsv, o.outputReport, o.junit, o.html].some((v) => v) || o.ndjson === true;
  const defaults = isRun || !asked;
  const pick = (given: string | false | undefined, fallback: string) => {
    if (given === false) return undefined;
    if (given === undefined || given === '') return defaults || fallback === '' ? fallback : undefined;
    return given === '-' ? '-' : resolve(cwd, given);
  };
  const out: Outputs = {
    json: pick(o.outputJson, names.json),
    csv: pick(o.outputCsv, names.csv),
    report: pick(o.outputReport, names.report),
    junit: o.junit ? pick(o.junit, '') : undefined,
    html: o.html ? pick(o.html, '') : undefined,
    ndjson: o.ndjson ? '-' : undefined,
    merged: o.clean ? join(reportDir, REPORT_NAMES.merged) : undefined,
  };
  const toStdout = Object.entries(out).filter(([, p]) => p === '-');
  if (toStdout.length > 1)
    throw new UsageError(`only one output can go to stdout (got ${toStdout.map(([k]) => k).join(', ')})`);
  return out;
}
