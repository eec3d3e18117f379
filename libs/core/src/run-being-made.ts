import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exclusiveFileHeld } from './exclusive-file.js';
import { isDirectory } from './path-exists.js';
import { launchLockOf, RUN_ID_PREFIX } from './run-folder.js';

/** How long a run folder being made is waited for: as long as capi-launch's own lock waiters wait. */
export const RUN_BEING_MADE_WAIT_MS = 120_000;
const POLL_MS = 50;

/** What to say of a folder still not a run when `runBeingMade` gave up waiting (`held`). */
export const stillBeingMadeNote = (dir: string) =>
  `${dir}: still no run.json after ${RUN_BEING_MADE_WAIT_MS / 1000} s while a capi-launch holds ${launchLockOf(dirname(dir))}; try again once it ends`;

/**
 * What a folder named as runs are, not yet a run (by the caller's `isMade`), turned out to be:
 * `made` (its launch made it a run), `gone` (its launch failed and removed it), `not` (no
 * launch is under way: what it is now, it stays), `held` (a launch still held the runs
 * folder's lock when the wait ran out).
 */
export type RunBeingMade = 'made' | 'gone' | 'not' | 'held';

/**
 * A folder named as runs are, seen without what makes it a run: capi-launch makes a run's
 * folder first, then its subfolders and, after the split, run.json, all while holding the
 * runs folder's `.launch.lock`. While a live process holds that lock the folder may be the
 * run being made: it is looked at again until it is made, is gone, or the lock is let go
 * (then one last look), for at most `waitMs`. Only reads: whoever asks (capi-watch, any
 * `capi-launch ... RUN`) needs no write access to the runs folder, and a run is answered as
 * soon as it is made, not when its launch lets the lock go. Without the lock held, the
 * answer is the first look's, at once. `onWait` is told once, when it waits.
 */
export async function runBeingMade(
  dir: string,
  isMade: (dir: string) => Promise<boolean>,
  onWait: (text: string) => void,
  waitMs = RUN_BEING_MADE_WAIT_MS,
): Promise<RunBeingMade> {
  if (!basename(dir).startsWith(RUN_ID_PREFIX)) return (await isMade(dir)) ? 'made' : 'not';
  const lock = launchLockOf(dirname(dir));
  const deadline = Date.now() + waitMs;
  let waiting = false;
  for (;;) {
    // the lock first, then the folder: a launch lets the lock go only once its folder is a run or removed
    const held = await exclusiveFileHeld(lock);
    if (await isMade(dir)) return 'made';
    if (!(await isDirectory(dir))) return 'gone';
    if (!held) return 'not';
    if (Date.now() > deadline) return 'held';
    if (!waiting)
      onWait(`${basename(dir)}: no run.json yet: waiting for the capi-launch of ${dirname(dir)} to make it`);
    waiting = true;
    await sleep(POLL_MS);
  }
}
