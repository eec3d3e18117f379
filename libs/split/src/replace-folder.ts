import { lstat, readdir, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  type AsideKind,
  CapiError,
  ExitCode,
  holdingRunManifest,
  isErrnoException,
  isRunFolder,
  liveSupervisorOf,
  runPaths,
  sayOnceWaited,
  withExclusiveFile,
} from '@capi/core';
import { asideFolders, asideName, folderLockOf } from './aside-names.js';
import { clearLeftovers } from './leftovers.js';

/** What `--force` replaces in DIR: its batches and index; any other entry is carried into the new DIR. */
const OWN_FILE = /^(batch_\d+\.ndjson|index\.json)$/;

/**
 * The folder `--out DIR` writes: DIR made absolute, and when it is a symbolic link, the folder
 * it points to (replaced there, the link kept; a temp folder beside the link could be on
 * another disk). A link to nothing is refused.
 */
export async function resolveTarget(dir: string): Promise<string> {
  const target = resolve(dir);
  const st = await lstat(target).catch(() => null);
  if (st === null) return target;
  try {
    return await realpath(target);
  } catch (err) {
    throw new CapiError(`${dir}: a symbolic link to nothing (${(err as Error).message})`, ExitCode.badInput);
  }
}

/**
 * Runs `fn` holding DIR's lock (`.DIR.lock` beside it): one split at a time judges the
 * leftovers beside DIR and moves its batches in. Held for renames only; a holder is waited
 * for while it lives (it touches the lock every second).
 */
export function holdingFolder<T>(
  target: string,
  note: (text: string) => void,
  fn: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const lock = folderLockOf(target);
  // said once a second has passed: a lock its dead holder left is broken at once, without a word
  const said = sayOnceWaited(1000, () => note(`waiting for ${lock}: another capi-split is at work on ${target}`));
  const o = { waitMs: 60_000, whileLive: true, touchMs: 1000, ...said };
  return withExclusiveFile(lock, signal ? { ...o, signal } : o, fn);
}

/** Leftovers of earlier splits beside `target` (leftovers.ts), an `old` one put back or its replacement finished. */
export function recoverLeftovers(target: string, note: (text: string) => void, kinds?: readonly AsideKind[]) {
  return clearLeftovers(target, note, (path, why) => recoverOld(path, target, why, note), kinds);
}

async function recoverOld(path: string, target: string, why: string, note: (text: string) => void): Promise<void> {
  if (!(await present(target))) {
    await rename(path, target);
    note(
      `put back ${target} from ${path}: a capi-split --force replacing it was killed before its new batches were in place (${why})`,
    );
    return;
  }
  const gone = await retire(path, target);
  const what = `the earlier batches of ${target}, replaced by a capi-split --force that is gone (${why})`;
  if (gone === null) {
    note(`${path}: ${what}: not removed, it holds files ${target} has its own of; remove it yourself`);
    return;
  }
  await rm(gone, { recursive: true, force: true });
  note(`removed ${path}: ${what}`);
}

const present = (path: string) =>
  lstat(path).then(
    () => true,
    () => false,
  );

/**
 * Ends an `old` folder once `target` is the new one: its entries that are not batches carried
 * into `target` (where `target` has none of that name), then renamed to a `gone` name, which
 * is returned for removal; null, and left, when one could not be carried.
 */
async function retire(old: string, target: string): Promise<string | null> {
  let kept = false;
  for (const name of await readdir(old)) {
    if (OWN_FILE.test(name)) continue;
    if (await present(join(target, name))) kept = true;
    else await rename(join(old, name), join(target, name));
  }
  if (kept) return null;
  const gone = asideName(target, 'gone');
  await rename(old, gone);
  return gone;
}

/**
 * What `target` is for a split into it: missing, an empty folder, or one with batches that
 * `force` may replace. Refused (exit 2): not a folder; not empty without `force`; the batches of
 * a run whose supervisor is running; missing while an `old` folder of it is left beside it
 * that could not be put back (another machine's, another user's: named by `clearLeftovers`).
 */
export async function targetState(target: string, shown: string, force: boolean): Promise<'absent' | 'empty' | 'full'> {
  let names: string[];
  try {
    if (!(await lstat(target)).isDirectory())
      throw new CapiError(`${shown}: exists and is not a folder`, ExitCode.badInput);
    names = await readdir(target);
  } catch (err) {
    if (!isErrnoException(err) || err.code !== 'ENOENT') throw err;
    const [old] = await asideFolders(target, ['old']);
    if (old !== undefined)
      throw new CapiError(
        `${shown}: missing, while ${join(dirname(target), old)} beside it holds its earlier batches (a capi-split --force replacing them, not judged here): rename it to ${shown} if no capi-split is using it`,
        ExitCode.badInput,
      );
    return 'absent';
  }
  if (names.length === 0) return 'empty';
  if (!force)
    throw new CapiError(`${shown}: folder is not empty (use --force to replace its batches)`, ExitCode.badInput);
  const run = dirname(target);
  const supervisor = basename(target) === 'batches' && (await isRunFolder(run)) ? liveSupervisorOf(run) : null;
  if (supervisor !== null)
    throw new CapiError(
      `${shown}: the batches of run ${basename(run)}, whose supervisor (pid ${supervisor}) is running: stop it first (capi-launch --stop ${run})`,
      ExitCode.badInput,
    );
  return 'full';
}

/**
 * `fn` holding the run.json.lock of the run whose batches `target` is (core's
 * `holdingRunManifest`), under which a supervisor takes a run: `targetState`'s "no live
 * supervisor" then still holds as the batches are replaced, and a `capi-launch --resume`
 * whose supervisor took the run since is seen. Any other folder: `fn` as it is.
 */
async function holdingRunOf<T>(
  target: string,
  note: (text: string) => void,
  fn: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const run = dirname(target);
  if (basename(target) !== 'batches' || !(await isRunFolder(run))) return fn();
  // said once a second has passed, as holdingFolder's wait is; a stop (Ctrl-C) ends the wait
  const said = sayOnceWaited(1000, () =>
    note(
      `waiting for ${runPaths(run).manifest}.lock: a capi process is writing run ${basename(run)}'s run.json (up to a minute)`,
    ),
  );
  return holdingRunManifest(run, fn, { ...said, ...(signal ? { signal } : {}) });
}

/**
 * Moves the whole folder `temp` into place as `target`, holding the folder's lock (and a
 * run's batches its run.json.lock: `holdingRunOf`). A missing or
 * empty `target` is replaced by one rename. One with batches (`force`) is renamed aside to
 * `.DIR.old-…`, then `temp` renamed to `target`, then the old folder's other files carried in
 * and the old folder renamed to `.DIR.gone-…` and removed: at every instant `target` is wholly
 * the earlier folder or wholly the new one, or, between the two renames, missing with the
 * whole earlier folder beside it, which the next split into `target` puts back
 * (`recoverLeftovers`, docs/capi-split.md "Replacing batches").
 */
export async function moveIntoPlace(
  temp: string,
  target: string,
  shown: string,
  force: boolean,
  note: (text: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const gone = await holdingFolder(
    target,
    note,
    () =>
      holdingRunOf(
        target,
        note,
        async () => {
          // a stop heard as the lock was taken: nothing is replaced
          signal?.throwIfAborted();
          // a split killed while this one wrote may have left DIR aside
          await recoverLeftovers(target, note, ['old']);
          if ((await targetState(target, shown, force)) !== 'full') {
            await rename(temp, target);
            return null;
          }
          const old = asideName(target, 'old');
          await rename(target, old);
          try {
            await rename(temp, target);
          } catch (err) {
            await rename(old, target);
            throw err;
          }
          return retire(old, target);
        },
        signal,
      ),
    signal,
  );
  if (gone !== null)
    await rm(gone, { recursive: true, force: true }).catch((err: Error) =>
      note(`${gone}: the earlier batches of ${target} could not be removed: ${err.message}`),
    );
}
