export { neutralize } from './csv-report.js';
export { expandGlob } from './glob.js';
export { type MergeOptions, type MergeOutcome, merge, mergeAfterGo } from './merge.js';
export { addExpected, addResult, createMergeState, type MergeState } from './merge-state.js';
export { type MergedStatus, type MergedTest, toResultRecord } from './merged-test.js';
export type { Outputs } from './outputs.js';
export { percentile } from './percentile.js';
export { reasonOf } from './reason.js';
export { type ShowOptions, showTest } from './show.js';
export { type Counts, type Summary, summarizeMerge } from './summary.js';
export {
  decidedBy,
  evaluateThresholds,
  parseThreshold,
  ruleName,
  type Threshold,
  type ThresholdResult,
  verdictOf,
} from './thresholds.js';
export { reportTimestamp } from './timestamp.js';
