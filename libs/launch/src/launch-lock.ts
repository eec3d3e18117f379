import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  isDirectory,
  isRunFolder,
  LAUNCH_LOCK_LIFE,
  launchLockOf,
  launchUnderWay,
  withExclusiveFile,
} from '@capi/core';

/**
 * The runs folder's `.launch.lock`: held by a capi-launch from its live-run check until
 * its supervisor has taken the run (a launch, `--rerun-failed`, a resume), and by
 * `--prune` while it picks and removes runs that never started. While a live process holds
 * it, a `created` run or a run folder without run.json may be the one it is preparing;
 * once none does, such a run's capi-launch ended before its supervisor took it
 * (docs/capi-launch.md, "A launch that ends before its supervisor takes the run").
 * Its path is core's `launchLockOf`: capi-watch looks at it too.
 */

/**
 * Runs `fn` holding the runs folder's launch lock, touching it meanwhile. Another holder is
 * waited for as long as it shows life (core's `LAUNCH_LOCK_LIFE`: a launch splitting millions
 * of rows holds it for minutes), saying so on `notes` at first and then every half minute.
 */
export function holdingLaunch<T>(runs: string, notes: (t: string) => void, fn: () => Promise<T>): Promise<T> {
  const { touchMs, silentMs, noteMs } = LAUNCH_LOCK_LIFE;
  const onWait = (waitedMs: number) =>
    notes(
      waitedMs < 1000
        ? `waiting for a capi-launch in ${runs} to start its run`
        : `still waiting after ${Math.round(waitedMs / 1000)} s for the capi-launch in ${runs} that holds ${launchLockOf(runs)} (splitting its suite?); waiting as long as it shows life`,
    );
  return withExclusiveFile(launchLockOf(runs), { waitMs: silentMs, whileLive: true, touchMs, noteMs, onWait }, fn);
}

export interface UnmadeLook {
  /** Still without run.json, and a run folder. */
  unmade: string[];
  /** A capi-launch of the runs folder is under way: any of `unmade` may be the run it prepares. */
  underWay: boolean;
  /** Given as without run.json, but holding one now: runs, made while they were looked at. */
  made: string[];
}

/**
 * What run folders seen without run.json (`runFoldersWithoutManifest`) are, judged after the
 * runs folder's launch lock is looked at. A capi-launch holds that lock from before it
 * makes a run's folder until after it has written run.json (or removed the folder), so a
 * folder seen without run.json before the lock was found free has since been given its
 * run.json, been removed, or lost its capi-launch: each is looked at again, and only one
 * still without run.json is called broken. Without that second look, a run whose launch
 * wrote run.json between the first look and the lock's was reported as a launch that died.
 */
export async function lookAtUnmade(runs: string, seen: string[]): Promise<UnmadeLook> {
  if (seen.length === 0) return { unmade: [], underWay: false, made: [] };
  if (await launchUnderWay(runs)) return { unmade: seen, underWay: true, made: [] };
  return lookAgain(seen);
}

/**
 * `lookAtUnmade`'s second look, without the look at the lock: for one who holds the launch
 * lock (no launch is under way then), or has just seen it free.
 */
async function lookAgain(seen: string[]): Promise<UnmadeLook> {
  const look: UnmadeLook = { unmade: [], underWay: false, made: [] };
  for (const dir of seen)
    if (await hasManifest(dir)) look.made.push(dir);
    else if (await isDirectory(dir)) look.unmade.push(dir);
  return look;
}

/** Whether a run folder holds its run.json yet: core's one rule of a run folder (`isRunFolder`). */
export const hasManifest = isRunFolder;

/**
 * What create-run.ts makes in a run's folder before its run.json, in this order (a launch
 * killed at any point of it leaves a prefix of them), and the files it writes then: control.json
 * and run.json, with their atomic writes' temp files and their locks, and exec-options.json,
 * which a foreground launch's early workers (early-workers.ts) need while the suite is split;
 * and capi-split's temporary folder beside `batches/` (`.batches.tmp-…`) and its lock
 * (`.batches.lock`, held while it moves its batches in), which a split killed with its launch
 * leaves.
 */
const MADE_BEFORE_MANIFEST = ['batches', 'logs', 'results', 'status', 'claims'];
const WRITTEN_BEFORE_MANIFEST =
  /^((control|run|exec-options)\.json(\.tmp-\d+(-[0-9a-f]+)?|\.lock)?|\.batches\.(lock|tmp-[A-Za-z0-9-]+))$/;

/**
 * Why a folder named as runs are, without run.json, is not what a capi-launch leaves when it
 * ends before writing run.json, or null when it is: a launch's folder holds `batches/` (the
 * first thing it makes there) and nothing but what it makes before run.json. A folder made or
 * copied there by hand (empty, or holding anything else) is not one: `--prune` leaves it.
 */
export async function notLeftByLaunch(dir: string): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    return `it cannot be read: ${(err as Error).message}`;
  }
  const other = names.find((n) => !MADE_BEFORE_MANIFEST.includes(n) && !WRITTEN_BEFORE_MANIFEST.test(n));
  if (other !== undefined) return `it holds ${JSON.stringify(other)}, which capi-launch does not make before run.json`;
  if (!(await isDirectory(join(dir, 'batches')))) return 'no batches/ in it, the first thing capi-launch makes there';
  return null;
}

/**
 * What to say of a run folder without run.json (`underWay`: a capi-launch may be preparing
 * it; `notLeft`: why it is not one a launch left, `notLeftByLaunch`).
 */
export function noManifestNote(dir: string, underWay: boolean, notLeft: string | null = null): string {
  if (underWay)
    return `${basename(dir)}: no run.json yet: a capi-launch of ${dirname(dir)} is preparing a run (splitting its suite)`;
  if (notLeft)
    return `${basename(dir)}: no run.json, and not a run folder a capi-launch left (${notLeft}): capi-launch --prune leaves it alone; remove it yourself if it is not wanted`;
  return `${basename(dir)}: no run.json: its capi-launch ended before it wrote one (killed during the split?); nothing in it can run: capi-launch --prune removes it`;
}
