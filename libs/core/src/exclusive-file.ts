import { open, readFile, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { FILE_MODE } from './atomic-write.js';
import { CapiError, isErrnoException } from './errors.js';
import { ExitCode } from './exit-code.js';
import { monotonicMs } from './monotonic-clock.js';
import { stillTheWriter } from './processes.js';
import { randomHex } from './random-tag.js';

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
 * is left to that other. The host is written too: a lock written on another machine (a
 * runs folder on a shared disk) is never judged by this machine's pids, only by its age.
 */
export interface ExclusiveFileOptions {
  /** Give up after this long (exit 3, naming the file). */
  waitMs: number;
  /** A lock older than this is stale whoever holds it; default: only a dead or reused pid is. */
  staleMs?: number;
  /**
   * The holder touches its lock this often while it holds it, whatever `staleMs`: a sign
   * of life for those who wait `whileLive`.
   */
  touchMs?: number;
  /**
   * Wait as long as the holder shows life: give up only once the lock has been neither
   * touched nor taken by another for `waitMs` (its holders must touch it: `touchMs`).
   */
  whileLive?: boolean;
  /** Called when the lock is found held, before waiting for it, then every `noteMs` of the wait (default: once). */
  onWait?: (waitedMs: number) => void;
  noteMs?: number;
  /** A stop (a signal the caller heard): its reason is thrown while waiting, the lock not taken. */
  signal?: AbortSignal;
}

/**
 * Wait options that call `say` once, when a wait has lasted `afterMs`: a lock held for a
 * moment (or left by a dead holder, broken at once) is waited for without a word.
 */
export function sayOnceWaited(afterMs: number, say: () => void): Pick<ExclusiveFileOptions, 'onWait' | 'noteMs'> {
  let said = false;
  const onWait = (waited: number) => {
    if (waited < afterMs || said) return;
    said = true;
    say();
  };
  return { onWait, noteMs: afterMs };
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
  // a holder on another machine: its pid says nothing here (a lock of before the host was written is this machine's)
  const host = text.split('\n')[2];
  const local = !host || host === hostname();
  // a pid that started after the lock's last write or touch is not its holder, but a reused pid
  const dead = holder && local && !stillTheWriter(pid, st.mtimeMs);
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

/**
 * How long a lock has shown no sign of life (ms, by `now`'s clock): the time since its text
 * or its mtime last changed, each call a look, and its text (who holds it; null: nobody).
 * Its holder touching it, or another holder taking it, is life; comparing what is seen, not
 * the mtime with this machine's clock, so a holder on another machine with another clock is
 * judged the same.
 */
export function lockSilence(
  path: string,
  now: () => number = monotonicMs,
): () => Promise<{ silentMs: number; text: string | null }> {
  let sign: string | undefined;
  let since = now();
  return async () => {
    const [text, st] = await Promise.all([readFile(path, 'utf8').catch(() => null), stat(path).catch(() => null)]);
    const seen = `${text}\0${st?.mtimeMs}`;
    if (seen !== sign) {
      sign = seen;
      since = now();
    }
    return { silentMs: now() - since, text };
  };
}

/** Runs `fn` holding the exclusive file `path`. */
export async function withExclusiveFile<T>(path: string, o: ExclusiveFileOptions, fn: () => Promise<T>): Promise<T> {
  const start = monotonicMs();
  const silence = lockSilence(path);
  let nextNote = 0;
  // the pid first (what the stale rule reads), then a token: this holder's lock, not another's; then the host
  const mine = `${process.pid}\n${randomHex(8)}\n${hostname()}\n`;
  while (!(await tryCreate(path, mine))) {
    o.signal?.throwIfAborted();
    const waited = monotonicMs() - start;
    if ((o.whileLive ? (await silence()).silentMs : waited) > o.waitMs)
      throw new CapiError(
        o.whileLive
          ? `${path}: held by a process that has shown no sign of life for ${Math.round(o.waitMs / 1000)} s (hung, stopped, or on a machine that went away); remove it if no capi process is using it`
          : `${path}: still held after ${Math.round(o.waitMs / 1000)} s; remove it if no capi process is using it`,
        ExitCode.cannotRun,
      );
    if (waited >= nextNote) {
      o.onWait?.(waited);
      nextNote = o.noteMs === undefined ? Number.POSITIVE_INFINITY : waited + o.noteMs;
    }
    await breakIfStale(path, o.staleMs ?? Number.POSITIVE_INFINITY);
    await sleep(20);
  }
  return holding(path, mine, o, fn);
}

/** `fn` run holding `path` (its text `mine`): the lock kept young (or touched) meanwhile, then removed if still its own. */
async function holding<T>(path: string, mine: string, o: ExclusiveFileOptions, fn: () => Promise<T>): Promise<T> {
  const stillMine = async () => (await readFile(path, 'utf8').catch(() => null)) === mine;
  const staleMs = o.staleMs ?? Number.POSITIVE_INFINITY;
  const young = Number.isFinite(staleMs) ? Math.max(10, Math.min(1000, staleMs / 5)) : Number.POSITIVE_INFINITY;
  const every = Math.min(young, o.touchMs ?? Number.POSITIVE_INFINITY);
  let touching: Promise<unknown> = Promise.resolve();
  const keepYoung = Number.isFinite(every)
    ? setInterval(() => {
        touching = touching.then(async () => {
          if (!(await stillMine())) return;
          const now = new Date();
          await utimes(path, now, now).catch(() => {});
        });
      }, every)
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
