/**
 * The report files a launched run's `report/` holds besides capi-merge's timestamped set
 * (docs/capi-merge.md "Report names", docs/run-folder.md): capi-merge writes them,
 * capi-launch asks for them and reads the merged results once `--clean` removed the journals.
 */
export const REPORT_NAMES = {
  /** Every test's final result, one line each: written by `capi-merge --clean`, read in place of the journals. */
  merged: 'results.ndjson',
  /** JUnit XML for CI (`--junit`), as capi-launch asks for it. */
  junit: 'junit.xml',
  /** The HTML report (`--html`), as capi-launch asks for it. */
  html: 'report.html',
} as const;
