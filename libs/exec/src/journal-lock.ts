import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CapiError,
  ExitCode,
  FILE_MODE,
  isErrnoException,
  type JournalLockInfo,
  journalLockPath,
  lockHolderAlive,
  makeDir,
  pidAlive,
  randomHex,
  readJournalLock,
} from '@capi/core';

/**
 * One capi-exec per journal. Two processes appending to one journal would run every test
 * twice and journal each id twice, so `<journal>.lock` names the owner's pid, host and
 * start time. It is written whole to a temp file and hard-linked into place, so a lock
 * is never seen half-written. A lock whose process is gone (kill -9, a crash, power
 * loss, a pid reused after a reboot) is stale and is taken over, one taker at a time; a
 * live one makes the second process give up (exit 3). The lock is removed on every exit
 * that runs code: normal end, errors, signals, process.exit.
 */
export const lockPath = journalLockPath;

export interface JournalLock {
  readonly path: string;
  release(): void;
}

/** A lock written by a system without hard links (opened, then written) may be empty this long. */
const EMPTY_LOCK_WAIT_MS = 1000;

/**
 * Puts `text` at `path` only if nothing is there; false when something is. The calls are
 * synchronous: a worker takes a lock per batch of 100 tests, and each fs/promises call
 * was a thread-pool round trip (issue 16); they are a few small-file calls on the
 * journal's own file system, which the journal writes synchronously anyway.
 */
async function create(path: string, text: string): Promise<boolean> {
  const tmp = `${path}.new-${process.pid}-${randomHex(4)}`;
  try {
    writeFileSync(tmp, text, { mode: FILE_MODE, flag: 'wx' });
  } catch (err) {
    // Only on ENOENT: mkdir -p says EEXIST for a path through a file, where open says ENOTDIR.
    if (!isErrnoException(err) || err.code !== 'ENOENT') throw err;
    await makeDir(dirname(path));
    writeFileSync(tmp, text, { mode: FILE_MODE, flag: 'wx' });
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if (isErrnoException(err) && err.code === 'EEXIST') return false;
    if (!isErrnoException(err) || !['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV'].includes(err.code ?? '')) throw err;
    return createWithoutLinks(path, text);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {}
  }
}

/** File systems without hard links: O_EXCL, then the content (briefly empty). */
async function createWithoutLinks(path: string, text: string): Promise<boolean> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'wx', FILE_MODE);
  } catch (err) {
    if (isErrnoException(err) && err.code === 'EEXIST') return false;
    throw err;
  }
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
  return true;
}

/** The lock as found, waiting out an empty one being written; null when it is gone. */
async function readLock(path: string): Promise<{ text: string; info: JournalLockInfo | null } | null> {
  const until = Date.now() + EMPTY_LOCK_WAIT_MS;
  for (;;) {
    const found = await readJournalLock(path);
    if (found === null || found.text !== '' || Date.now() > until) return found;
    await sleep(20);
  }
}

/**
 * Removes the lock judged stale, and only that one: takers queue on `<lock>.takeover`
 * (O_EXCL), and the lock is removed only if it still holds the stale text. False when
 * it changed or another taker is at work.
 */
async function removeStale(path: string, staleText: string): Promise<boolean> {
  const guard = `${path}.takeover`;
  if (!(await create(guard, `${process.pid}\n`))) {
    // A taker that died mid-way leaves its guard: stale when its pid is gone.
    const owner = Number.parseInt(await readFile(guard, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && !pidAlive(owner)) await unlink(guard).catch(() => {});
    return false;
  }
  try {
    const now = await readFile(path, 'utf8').catch(() => null);
    if (now !== staleText) return false;
    await unlink(path);
    return true;
  } finally {
    await unlink(guard).catch(() => {});
  }
}

function inUse(journal: string, path: string, holder: JournalLockInfo, here: string): CapiError {
  const elsewhere = holder.host === here ? '' : ` on ${holder.host} (if it is not running there, remove ${path})`;
  return new CapiError(`journal ${journal} is in use by capi-exec pid ${holder.pid}${elsewhere}`, ExitCode.cannotRun);
}

/**
 * Takes the journal's lock, or throws (exit 3) naming the process that holds it. `log`
 * says when a stale lock was taken over. File-system errors are thrown as they are.
 */
export async function lockJournal(journal: string, log: (line: string) => void): Promise<JournalLock> {
  const path = lockPath(journal);
  const here = hostname();
  const text = `${JSON.stringify({ pid: process.pid, host: here, since: new Date().toISOString() })}\n`;
  for (let tries = 0; !(await create(path, text)); tries++) {
    const found = await readLock(path);
    if (found === null) continue;
    const holder = found.info;
    if (holder && lockHolderAlive(holder, here)) throw inUse(journal, path, holder, here);
    if (tries >= 50) throw new CapiError(`cannot take the lock ${path}: other processes keep taking it`);
    if (await removeStale(path, found.text))
      log(
        holder
          ? `took over the stale lock ${path} of capi-exec pid ${holder.pid}, which is no longer running`
          : `took over the unreadable lock ${path}`,
      );
    else await sleep(20);
  }
  const release = () => {
    process.off('exit', release);
    try {
      // Only our own: never a lock another process took over after ours was judged stale.
      if (readFileSync(path, 'utf8') === text) unlinkSync(path);
    } catch {}
  };
  // process.exit (a second signal, a closed stdout) skips every finally: this still runs.
  process.on('exit', release);
  return { path, release };
}
