import { join } from 'node:path';
import { exclusiveFileHeld, withExclusiveFile } from '@capi/core';

/**
 * The runs folder's `.launch.lock`: held by a capi-launch from its live-run check until
 * its supervisor has taken the run (a launch, `--rerun-failed`, a resume), and by
 * `--prune` while it picks and removes runs that never started. While a live process holds
 * it, a `created` run or a run folder without run.json may be the one it is preparing;
 * once none does, such a run's capi-launch ended before its supervisor took it
 * (docs/capi-launch.md, "A launch that ends before its supervisor takes the run").
 */
export const launchLockOf = (runs: string) => join(runs, '.launch.lock');

/** Runs `fn` holding the runs folder's launch lock, waiting up to 2 minutes (saying so). */
export function holdingLaunch<T>(runs: string, onWait: () => void, fn: () => Promise<T>): Promise<T> {
  return withExclusiveFile(launchLockOf(runs), { waitMs: 120_000, onWait }, fn);
}

/** Is a capi-launch of `runs` under way (its launch lock held by a live process)? Only reads. */
export const launchUnderWay = (runs: string): Promise<boolean> => exclusiveFileHeld(launchLockOf(runs));
