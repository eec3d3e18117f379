import { open, readFile, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CapiError, ExitCode, FILE_MODE, isErrnoException, pidAlive, runPaths } from '@capi/core';
import { type Control, readControl, writeControl } from './manifest.js';

/**
 * control.json has two writers: the supervisor (`workers`, as slots run out of batches)
 * and `capi-launch --pause/--continue/--set`. Each reads, changes and writes the whole
 * file back, so without a lock a `--pause` landing between the other's read and write is
 * silently undone. `control.json.lock` (created with O_EXCL, the holder's pid inside) is
 * held around each read-modify-write; it lives for milliseconds, so one whose pid is
 * gone or that is older than `STALE_MS` was left by a writer that died, and is removed.
 */
export const STALE_MS = 5_000;
/** How long a writer waits for the lock: past `STALE_MS`, so a stale lock is always broken first. */
const WAIT_MS = 10_000;

const lockPath = (runDir: string) => `${runPaths(runDir).control}.lock`;

async function tryLock(path: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', FILE_MODE);
    await fh.writeFile(`${process.pid}\n`).finally(() => fh.close());
    return true;
  } catch (err) {
    if (isErrnoException(err) && err.code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * A lock left by a writer that died: its pid is gone, or it is older than `STALE_MS`. An
 * empty lock is one being written right now, unless it is that old too.
 */
async function breakIfStale(path: string): Promise<void> {
  const [text, st] = await Promise.all([readFile(path, 'utf8').catch(() => null), stat(path).catch(() => null)]);
  if (text === null || st === null) return;
  const pid = Number.parseInt(text, 10);
  const deadHolder = Number.isSafeInteger(pid) && pid > 0 && !pidAlive(pid);
  if (!deadHolder && Date.now() - st.mtimeMs < STALE_MS) return;
  // the same lock still (not one a live writer took in between): only then remove it
  if ((await readFile(path, 'utf8').catch(() => null)) === text) await rm(path, { force: true });
}

/** Runs `fn` holding control.json.lock. */
export async function withControlLock<T>(runDir: string, fn: () => Promise<T>): Promise<T> {
  const path = lockPath(runDir);
  const deadline = Date.now() + WAIT_MS;
  while (!(await tryLock(path))) {
    if (Date.now() > deadline)
      throw new CapiError(
        `${path}: still held after ${WAIT_MS / 1000} s; remove it if no capi-launch is running`,
        ExitCode.cannotRun,
      );
    await breakIfStale(path);
    await sleep(20);
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

/** Read, change, replace control.json under its lock: no writer's change is lost. */
export function updateControl(runDir: string, change: (c: Control) => Control | Promise<Control>): Promise<Control> {
  return withControlLock(runDir, async () => {
    const next = await change(await readControl(runDir));
    await writeControl(runDir, next);
    return next;
  });
}
