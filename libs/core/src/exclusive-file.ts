import { randomBytes } from 'node:crypto';
import { open, readFile, rm, stat, utimes } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { FILE_MODE } from './atomic-write.js';
import { CapiError, isErrnoException } from './errors.js';
import { ExitCode } from './exit-code.js';
import { pidAlive, processStartMs } from './processes.js';

/**
 * One exclusive-file lock for short critical sections between processes of one host
 * (control.json.lock, the runs folder's launch.lock): the file is created with O_EXCL
 * holding the holder's pid, and removed when the section ends. A lock is stale, and is
 * broken, when its pid is gone, when that pid started after the lock was written (a pid
 * reused after a crash), or when it is older than `staleMs`. A holder keeps its lock young
 * while it holds it (touches it every `staleMs / 5`, at most every second), so only a
 * holder that has stopped (hung, SIGSTOP) or died lets it grow old: a live holder slowed by
 * a slow or full disk is never taken for a dead one. A holder removes the lock only while it
 * is still its own (the pid and a token written with it): one broken and taken by another
 * is left to that other.
 */
export interface ExclusiveFileOptions {
  /** Give up after this long (exit 3, naming the file). */
  waitMs: number;
  /** A lock older than this is stale whoever holds it; default: only a dead or reused pid is. */
  staleMs?: number;
  /** Called once when the lock is found held, before waiting for it. */
  onWait?: () => void;
}

async function tryCreate(path: string, text: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', FILE_MODE);
    await fh.writeFile(text).finally(() => fh.close());
    return true;
  } catch (err) {
    if (isErrnoException(err) && err.code === 'EEXIST') return false;
    throw err;
  }
}

/** The lock's text and whether it is stale (the rule above); null when there is no lock. */
async function lookAtLock(path: string, staleMs: number): Promise<{ text: string; stale: boolean } | null> {
  const [text, st] = await Promise.all([readFile(path, 'utf8').catch(() => null), stat(path).catch(() => null)]);
  if (text === null || st === null) return null;
  const pid = Number.parseInt(text, 10);
  const age = Date.now() - st.mtimeMs;
  const holder = Number.isSafeInteger(pid) && pid > 0;
  const started = holder ? processStartMs(pid) : null;
  const dead = holder && (!pidAlive(pid) || (started !== null && started > st.mtimeMs + 1000));
  // an empty lock is one being written, unless it is old
  return { text, stale: dead || age >= (holder ? staleMs : Math.min(staleMs, 5_000)) };
}

/** Removes a lock left by a holder that died; an empty lock is one being written, unless it is old. */
async function breakIfStale(path: string, staleMs: number): Promise<void> {
  const look = await lookAtLock(path, staleMs);
  if (!look?.stale) return;
  // the same lock still (not one a live writer took in between): only then remove it
  if ((await readFile(path, 'utf8').catch(() => null)) === look.text) await rm(path, { force: true });
}

/**
 * Is `path` held now, by a holder `withExclusiveFile` would wait for (not a stale lock)?
 * Only reads: for a look at whether a section is under way (`capi-launch --status`).
 */
export async function exclusiveFileHeld(path: string, staleMs = Number.POSITIVE_INFINITY): Promise<boolean> {
  const look = await lookAtLock(path, staleMs);
  return look !== null && !look.stale;
}

/** Runs `fn` holding the exclusive file `path`. */
export async function withExclusiveFile<T>(path: string, o: ExclusiveFileOptions, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + o.waitMs;
  let waited = false;
  // the pid first (what the stale rule reads), then a token: this holder's lock, not another's
  const mine = `${process.pid}\n${randomBytes(8).toString('hex')}\n`;
  while (!(await tryCreate(path, mine))) {
    if (Date.now() > deadline)
      throw new CapiError(
        `${path}: still held after ${Math.round(o.waitMs / 1000)} s; remove it if no capi process is using it`,
        ExitCode.cannotRun,
      );
    if (!waited) o.onWait?.();
    waited = true;
    await breakIfStale(path, o.staleMs ?? Number.POSITIVE_INFINITY);
    await sleep(20);
  }
  const stillMine = async () => (await readFile(path, 'utf8').catch(() => null)) === mine;
  const staleMs = o.staleMs ?? Number.POSITIVE_INFINITY;
  let touching: Promise<unknown> = Promise.resolve();
  const keepYoung = Number.isFinite(staleMs)
    ? setInterval(
        () => {
          touching = touching.then(async () => {
            if (!(await stillMine())) return;
            const now = new Date();
            await utimes(path, now, now).catch(() => {});
          });
        },
        Math.max(10, Math.min(1000, staleMs / 5)),
      )
    : null;
  keepYoung?.unref();
  try {
    return await fn();
  } finally {
    if (keepYoung) clearInterval(keepYoung);
    await touching;
    if (await stillMine()) await rm(path, { force: true });
  }
}
