import { lstat, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AsideKind } from '@capi/core';
import { pidAlive, processStartMs } from '@capi/core';
import { asideFolders, asidePattern, hostTag } from './aside-names.js';

/** What is done with an abandoned `.DIR.old-…` (replace-folder.ts `recoverOld`); `why`: why it is abandoned. */
export type OldFolderRecovery = (path: string, why: string) => Promise<void>;

/**
 * Folders earlier splits into `target` left beside it (aside-names.ts), of `kinds`, each judged
 * by its maker. One provably this user's and abandoned (made on this host by a process that is
 * gone, or whose pid now belongs to a process that started later) is dealt with and named in
 * `note`: a `tmp` or `gone` one removed, an `old` one handed to `onOld` (put back or its
 * replacement finished), first of all. One of a live split is left alone without a word; one
 * that cannot be judged (another user's, another host's, a name of an older version, not a
 * folder) is named and left. Never throws: a folder that cannot be looked at or dealt with is
 * named too. Callers hold the folder's lock (replace-folder.ts).
 */
export async function clearLeftovers(
  target: string,
  note: (text: string) => void,
  onOld: OldFolderRecovery,
  kinds: readonly AsideKind[] = ['tmp', 'old', 'gone'],
): Promise<void> {
  const ours = asidePattern(target);
  const names = await asideFolders(target, kinds);
  // old ones first: whether one is put back decides what target is
  names.sort((a, b) => Number(kindOf(a) !== 'old') - Number(kindOf(b) !== 'old'));
  for (const name of names) {
    const path = join(dirname(target), name);
    const m = ours.exec(name);
    const why = await abandoned(path, m);
    if (why === null) continue;
    if (typeof why === 'object') {
      const what =
        kindOf(name) === 'old'
          ? `it holds earlier batches of ${target}: if no capi-split is using it, rename it to ${target} when that is missing, else remove it`
          : 'remove it yourself if no capi-split is using it';
      note(`${path}: left beside ${target} (${why.unknown}): not removed; ${what}`);
      continue;
    }
    try {
      if (m?.[1] === 'old') await onOld(path, why);
      else {
        await rm(path, { recursive: true, force: true });
        note(`removed ${path}: left by a capi-split that is gone (${why})`);
      }
    } catch (err) {
      note(
        `${path}: left by a capi-split that is gone (${why}), but could not be dealt with: ${(err as Error).message}`,
      );
    }
  }
}

const kindOf = (name: string) => /\.(tmp|old|gone)-[^.]*$/.exec(name)?.[1];

/** Why it is abandoned, why that cannot be told, or null: a live split's (or gone meanwhile). */
async function abandoned(path: string, m: RegExpExecArray | null): Promise<string | { unknown: string } | null> {
  const st = await lstat(path).catch(() => null);
  if (st === null) return null;
  if (!st.isDirectory()) return { unknown: 'not a folder' };
  if (typeof process.getuid === 'function' && st.uid !== process.getuid())
    return { unknown: `another user's (uid ${st.uid})` };
  if (!m) return { unknown: 'a name without its maker, of an older capi-split?' };
  const [, , pidText, startText, host] = m;
  if (host !== hostTag()) return { unknown: 'made on another machine' };
  const pid = Number(pidText);
  if (!pidAlive(pid)) return `pid ${pid} has ended`;
  const started = processStartMs(pid);
  const recorded = Number.parseInt(startText as string, 36);
  // its start time unknown (no /proc): the pid alive may be the maker
  if (recorded === 0 || started === null || Math.abs(Math.round(started) - recorded) <= 10) return null;
  return `pid ${pid} is now another process`;
}
