import { type Stats, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CapiError } from './errors.js';
import { ExitCode } from './exit-code.js';
import { currentUid, othersMayWriteIn, ownedByUidOrRoot } from './folder-trust.js';

/**
 * Only the owner controls a run (docs/run-folder.md, "Who may control a run"). A runs
 * folder or run folder that another user owns or may write to lets that user swap in a
 * run whose `--on-finish` then runs as you; so, as ssh does for ~/.ssh, such folders are
 * refused, and so is a run.json that is not yours or that others may read or write.
 * Root's own files are trusted too (as ssh trusts them). The folders' rule is core's one
 * (folder-trust.ts), which the code cache follows too.
 */

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** What is wrong with a folder or file for this user, with the fix; null when nothing is. */
export function unsafeOwnership(path: string, st: Stats, file = false): string | null {
  const uid = currentUid();
  // no user ids to compare (not POSIX): nothing to refuse by
  if (uid === null) return null;
  if (!ownedByUidOrRoot(st, uid))
    return `${path}: owned by uid ${st.uid}, not by you (uid ${uid}): refusing to trust it (fix: chown ${uid} '${path}', or use a folder of your own)`;
  if (file && (st.mode & 0o077) !== 0)
    return `${path}: mode ${octal(st.mode)}, open to other users: refusing to trust it (fix: chmod 600 '${path}')`;
  // a sticky folder (/tmp) lets no one else rename or remove what is yours in it
  if (!file && othersMayWriteIn(st))
    return `${path}: writable by ${st.mode & 0o002 ? 'others' : 'group'} (mode ${octal(st.mode)}): refusing to trust it (fix: chmod go-w '${path}')`;
  return null;
}

function refuse(why: string | null): void {
  if (why) throw new CapiError(why, ExitCode.cannotRun);
}

/** Refuses a runs folder that exists and is not safe; a missing one is created by capi safely. */
export function checkRunsFolder(runs: string): void {
  const st = statOrNull(runs);
  if (st) refuse(unsafeOwnership(runs, st));
}

/** Refuses a run whose runs folder, run folder or run.json another user controls (exit 3). */
export function checkRunOwner(runDir: string): void {
  checkRunsFolder(dirname(runDir));
  const st = statOrNull(runDir);
  if (st) refuse(unsafeOwnership(runDir, st));
  const manifest = join(runDir, 'run.json');
  const m = statOrNull(manifest);
  if (m) refuse(unsafeOwnership(manifest, m, true));
}
