import type { Stats } from 'node:fs';

/**
 * The one folder-trust rule (docs/run-folder.md, "Who may control a run"), as ssh has it for
 * ~/.ssh: a folder may be trusted when no other user can swap what is in it, that is when
 * it is owned by this user or root and no one else may write in it, unless it is sticky
 * (/tmp: no one may rename or remove another's files there). owner.ts refuses runs folders
 * and run folders by it, with a message; code-cache.ts takes a cache folder's parent by it,
 * silently. Node built-ins only: capi-exec's code-cache loader holds this module.
 */

/** This process's user id; null where there is none (not POSIX). */
export const currentUid = (): number | null => (typeof process.getuid === 'function' ? process.getuid() : null);

/** Owned by `uid` or by root (root's own files are trusted, as ssh trusts them). */
export const ownedByUidOrRoot = (st: Pick<Stats, 'uid'>, uid: number): boolean => st.uid === uid || st.uid === 0;

/** Group or others may rename or remove what is in the folder: writable by them, and not sticky. */
export const othersMayWriteIn = (st: Pick<Stats, 'mode'>): boolean =>
  (st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0;

/** A folder's owner and mode trusted for `uid` (whether it is a folder is the caller's look). */
export const folderTrusted = (st: Pick<Stats, 'uid' | 'mode'>, uid: number): boolean =>
  ownedByUidOrRoot(st, uid) && !othersMayWriteIn(st);
