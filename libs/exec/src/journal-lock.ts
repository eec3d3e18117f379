import { readFileSync, unlinkSync } from 'node:fs';
import { type FileHandle, link, open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CapiError, ExitCode, FILE_MODE, isErrnoException, makeDir } from '@capi/core';

/**
 * One capi-exec per journal. Two processes appending to one journal would run every test
 * twice and journal each id twice, so `<journal>.lock` is created with O_EXCL and holds
 * the owner's pid, host and start time. A lock whose process is gone (kill -9, a crash,
 * power loss) is stale and is taken over; a live one makes the second process give up
 * (exit 3). The lock is removed on every exit that runs code: normal end, errors,
 * signals, process.exit.
 */
export const lockPath = (journal: string) => `${journal}.lock`;

interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

export interface JournalLock {
  readonly path: string;
  release(): void;
}

/** A half-created lock (opened, not yet written) is given this long to get its content. */
const EMPTY_LOCK_WAIT_MS = 1000;

/** Whether a local pid is a running process; a zombie (exited, not reaped) is not. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return isErrnoException(err) && err.code === 'EPERM';
  }
  try {
    // Signal 0 reaches a zombie too; on Linux /proc tells (state after the command name).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true;
  }
}

function parse(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.host === 'string')
      return { pid: v.pid, host: v.host, since: String(v.since ?? '') };
  } catch {}
  return null;
}

/** The lock's text, waiting out one being written; null when it is gone. */
async function readLock(path: string): Promise<string | null> {
  const until = Date.now() + EMPTY_LOCK_WAIT_MS;
  for (;;) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (isErrnoException(err) && err.code === 'ENOENT') return null;
      throw err;
    }
    if (text !== '' || Date.now() > until) return text;
    await sleep(20);
  }
}

/**
 * Removes a stale lock, but only the one judged stale: it is renamed away first (atomic),
 * and if what was moved is not that lock (another process took over in between), it is
 * put back. False when someone else moved it first.
 */
async function removeStale(path: string, staleText: string): Promise<boolean> {
  const aside = `${path}.stale-${process.pid}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') return false;
    throw err;
  }
  const moved = await readFile(aside, 'utf8').catch(() => '');
  if (moved !== staleText) await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
  return moved === staleText;
}

async function openExclusive(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'wx', FILE_MODE);
  } catch (err) {
    if (isErrnoException(err) && err.code === 'EEXIST') return null;
    throw err;
  }
}

/** Creates the lock with O_EXCL; false when it exists. A missing folder is made (the journal's too). */
async function create(path: string, text: string): Promise<boolean> {
  let fh: FileHandle | null;
  try {
    fh = await openExclusive(path);
  } catch (err) {
    // Only on ENOENT: mkdir -p says EEXIST for a path through a file, where open says ENOTDIR.
    if (!isErrnoException(err) || err.code !== 'ENOENT') throw err;
    await makeDir(dirname(path));
    fh = await openExclusive(path);
  }
  if (!fh) return false;
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
  return true;
}

function inUse(journal: string, path: string, holder: LockInfo, here: string): CapiError {
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
    const holder = parse(found);
    // A lock of another host cannot be checked from here: it counts as held.
    if (holder && (holder.host !== here || pidAlive(holder.pid))) throw inUse(journal, path, holder, here);
    if (tries >= 5) throw new CapiError(`cannot take the lock ${path}: other processes keep taking it`);
    if (await removeStale(path, found))
      log(
        holder
          ? `took over the stale lock ${path} of capi-exec pid ${holder.pid}, which is no longer running`
          : `took over the unreadable lock ${path}`,
      );
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
