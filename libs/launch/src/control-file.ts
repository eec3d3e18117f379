import { type RunControl, runPaths, withExclusiveFile } from '@capi/core';
import { readControl, writeControl } from './manifest.js';

/**
 * control.json has two writers: the supervisor (`workers`, as slots run out of batches)
 * and `capi-launch --pause/--continue/--set`. Each reads, changes and writes the whole
 * file back, so without a lock a `--pause` landing between the other's read and write is
 * silently undone. `control.json.lock` (created with O_EXCL, the holder's pid inside) is
 * held around each read-modify-write; it lives for milliseconds, so one whose pid is
 * gone or that is older than `STALE_MS` was left by a writer that died, and is removed.
 */
const STALE_MS = 5_000;
/**
 * How long a writer waits for the lock: past `STALE_MS`, so a stale lock is always broken
 * first, and long enough for a live holder slowed by its disk (it keeps its lock young).
 */
const WAIT_MS = 60_000;

const lockPath = (runDir: string) => `${runPaths(runDir).control}.lock`;

/** Runs `fn` holding control.json.lock. */
const withControlLock = <T>(runDir: string, fn: () => Promise<T>): Promise<T> =>
  withExclusiveFile(lockPath(runDir), { waitMs: WAIT_MS, staleMs: STALE_MS }, fn);

/** Read, change, replace control.json under its lock: no writer's change is lost. */
export function updateControl(
  runDir: string,
  change: (c: RunControl) => RunControl | Promise<RunControl>,
): Promise<RunControl> {
  return withControlLock(runDir, async () => {
    const next = await change(await readControl(runDir));
    await writeControl(runDir, next);
    return next;
  });
}
