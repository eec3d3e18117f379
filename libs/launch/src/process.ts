import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Is `pid` a live process (and, when `marker` is given, is its command line about it)? */
export function isAlive(pid: number | null | undefined, marker?: string): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it is not ours to supervise.
    return (err as NodeJS.ErrnoException).code === 'EPERM' && marker === undefined;
  }
  if (!marker) return true;
  // A pid can be reused by an unrelated process after a crash: check what it runs.
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline === '') return false; // a zombie: exited, not yet reaped
    return cmdline.includes(marker);
  } catch {
    return false;
  }
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Waits until none of `pids` is alive, up to `timeoutMs`; returns whether they are gone. */
export async function waitGone(pids: number[], timeoutMs: number, marker?: string): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pids.every((p) => !isAlive(p, marker))) return true;
    await sleep(100);
  }
  return pids.every((p) => !isAlive(p, marker));
}
