import { type MergeOptions, type MergeOutcome, merge } from './merge.js';

export type MergeRunOptions = Omit<MergeOptions, 'inputs'>;

/**
 * The library entry for capi-launch: merge one run folder into its report/ folder.
 * Resolves with the verdict, the counts and the paths written; rejects with a CapiError
 * (exit code on it) on bad input.
 */
export function mergeRun(
  runDir: string,
  options: MergeRunOptions = {},
): Promise<Pick<MergeOutcome, 'verdict' | 'exitCode' | 'counts' | 'outputs' | 'summary' | 'thresholds' | 'cleaned'>> {
  return merge({ ...options, inputs: [runDir] });
}
