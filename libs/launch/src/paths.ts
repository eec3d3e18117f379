import { runPaths } from '@capi/core';

let last: { runDir: string; paths: ReturnType<typeof runPaths> } | null = null;

/**
 * core's `runPaths`, remembered for the last run folder asked: the supervisor asks for a
 * batch's paths several times per batch (its claim, journal, stall watch), and each
 * `runPaths` resolves the folder and joins some twenty paths.
 */
export function runPathsOf(runDir: string): ReturnType<typeof runPaths> {
  if (last?.runDir !== runDir) last = { runDir, paths: runPaths(runDir) };
  return last.paths;
}
