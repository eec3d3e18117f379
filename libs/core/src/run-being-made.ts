import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exclusiveFileHeld, lockSilence } from './exclusive-file.js';
import { monotonicMs } from './monotonic-clock.js';
import { isDirectory } from './path-exists.js';
import { launchLockOf, RUN_ID_PREFIX } from './run-folder.js';

/**
 * How those who wait for the runs folder's `.launch.lock` judge its holder. A capi-launch
 * holds it while it splits its suite, which for millions of rows takes longer than any fixed
 * wait: so it touches the lock every `touchMs` while it holds it (`holdingLaunch`), and a
 * waiter waits as long as the holder is alive (by its pid, on this machine) and the lock
 * is touched; it gives up only once the lock has shown no sign of life for `silentMs` (a
 * holder stopped or hung, or on another machine that went away), and says every `noteMs`
 * that it still waits. `silentMs` is well above `touchMs` and a shared disk's attribute
 * cache (up to a minute on NFS).
 */
export const LAUNCH_LOCK_LIFE = { touchMs: 5_000, silentMs: 120_000, noteMs: 30_000 } as const;

/** What to say of a folder still not a run when `runBeingMade` gave up waiting (`held`). */
export const stillBeingMadeNote = (dir: string, silentMs: number = LAUNCH_LOCK_LIFE.silentMs) =>
  `${dir}: still no run.json, and the capi-launch holding ${launchLockOf(dirname(dir))} has shown no sign of life for ${Math.round(silentMs / 1000)} s (stopped, hung, or on a machine that went away); remove that lock if no capi-launch is using it, then try again`;

/**
 * What a folder named as runs are, not yet a run (by the caller's `isMade`), turned out to be:
 * `made` (its launch made it a run), `gone` (its launch failed and removed it), `not` (no
 * launch is under way: what it is now, it stays), `held` (the lock is held by a holder that
 * stopped showing life: `stillBeingMadeNote`).
 */
export type RunBeingMade = 'made' | 'gone' | 'not' | 'held';

export interface BeingMadeWait {
  pollMs: number;
  silentMs: number;
  noteMs: number;
  /** A monotonic clock (ms). */
  now: () => number;
}

const WAIT: BeingMadeWait = { pollMs: 50, ...LAUNCH_LOCK_LIFE, now: monotonicMs };

/**
 * A folder named as runs are, seen without what makes it a run: capi-launch makes a run's
 * folder first, then its subfolders and, after the split, run.json, all while holding the
 * runs folder's `.launch.lock`. While a live process holds that lock the folder may be the
 * run being made: it is looked at again until it is made, is gone, or the lock is let go or
 * broken (its holder dead, or its pid reused) or taken by another launch (then one last
 * look), as long as the holder shows life (`LAUNCH_LOCK_LIFE`). Only reads: whoever asks (capi-watch, any `capi-launch ...
 * RUN`) needs no write access to the runs folder, and a run is answered as soon as it is made,
 * not when its launch lets the lock go. Without the lock held, the answer is the first look's,
 * at once. `onWait` is told when it starts waiting, then every `noteMs` that it still waits.
 */
export async function runBeingMade(
  dir: string,
  isMade: (dir: string) => Promise<boolean>,
  onWait: (text: string) => void,
  wait: Partial<BeingMadeWait> = {},
): Promise<RunBeingMade> {
  if (!basename(dir).startsWith(RUN_ID_PREFIX)) return (await isMade(dir)) ? 'made' : 'not';
  const w = { ...WAIT, ...wait };
  const lock = launchLockOf(dirname(dir));
  const silence = lockSilence(lock, w.now);
  const start = w.now();
  let nextNote = 0;
  let holder: string | null = null;
  for (;;) {
    // the lock first, then the folder: a launch lets the lock go only once its folder is a run or removed
    const held = await exclusiveFileHeld(lock);
    const { silentMs, text } = await silence();
    if (await isMade(dir)) return 'made';
    if (!(await isDirectory(dir))) return 'gone';
    if (!held) return 'not';
    // another holder since: the one waited for let it go (or died and its lock was broken) without making it
    holder ??= text;
    if (text !== null && text !== holder) return 'not';
    if (silentMs >= w.silentMs) return 'held';
    const waited = w.now() - start;
    if (waited >= nextNote) {
      onWait(waitingNote(dir, waited));
      nextNote = waited + w.noteMs;
    }
    await sleep(w.pollMs);
  }
}

function waitingNote(dir: string, waitedMs: number): string {
  const launch = `the capi-launch of ${dirname(dir)}`;
  if (waitedMs < 1000) return `${basename(dir)}: no run.json yet: waiting for ${launch} to make it`;
  return `${basename(dir)}: still no run.json after ${Math.round(waitedMs / 1000)} s: ${launch} is still making it (splitting its suite); waiting as long as it does`;
}
