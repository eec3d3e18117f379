import { readdirSync, readFileSync } from 'node:fs';
import { isErrnoException } from './errors.js';
import { readIfExists } from './read-if-exists.js';

/**
 * Whether a local pid is a running process. A zombie (exited, not yet reaped by its
 * parent) counts as gone: it will never write another line.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return isErrnoException(err) && err.code === 'EPERM';
  }
  const fields = statFields(pid);
  return fields === null || fields[0] !== 'Z';
}

/**
 * /proc/PID/stat's fields after the command name, from the state on (state, parent pid, …);
 * null where /proc has none. The command name may itself hold spaces and ')'.
 */
function statFields(pid: number): string[] | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Each live process's parent pid, from /proc (Linux); empty where there is none. */
export function processParents(): Map<number, number> {
  const up = new Map<number, number>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return up;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(Number(name))?.[1]);
    if (Number.isSafeInteger(ppid)) up.set(Number(name), ppid);
  }
  return up;
}

/** Linux's USER_HZ, the unit of /proc/PID/stat's start time: 100 on every common build. */
const TICKS_PER_SECOND = 100;

/**
 * When a local process started (ms since the epoch), from /proc; null where /proc cannot
 * tell. A pid recorded in a file may have been reused by another process since: one that
 * started after the file was written is not the one that wrote it.
 */
export function processStartMs(pid: number): number | null {
  const fields = statFields(pid);
  if (fields === null) return null;
  const ticks = Number(fields[19]);
  const boot = /^btime (\d+)$/m.exec(readFileOr('/proc/stat'))?.[1];
  if (!Number.isFinite(ticks) || boot === undefined) return null;
  return Number(boot) * 1000 + (ticks * 1000) / TICKS_PER_SECOND;
}

function readFileOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** `<journal>.lock`: which capi-exec appends to a journal (docs/capi-exec.md, "One process per journal"). */
export interface JournalLockInfo {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

export const journalLockPath = (journal: string) => `${journal}.lock`;

export function parseJournalLock(text: string): JournalLockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<JournalLockInfo>;
    if (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.host === 'string')
      return { pid: v.pid, host: v.host, since: String(v.since ?? '') };
  } catch {}
  return null;
}

/**
 * Whether the process a lock names still holds it: a lock of another host cannot be
 * checked from here and counts as held; a local one is held while its pid runs and
 * did not start after the lock was taken (a pid reused after a reboot is not the holder).
 */
export function lockHolderAlive(info: JournalLockInfo, host: string): boolean {
  return info.host !== host || stillTheWriter(info.pid, Date.parse(info.since));
}

/**
 * Whether the process `pid` of this machine, named in a lock written at `sinceMs` (NaN: not
 * known), is still the one that wrote it: its pid runs and did not start after the lock was
 * written (a pid reused, after a reboot say, is not the writer). The one rule for capi's locks
 * (journal locks, core's exclusive files).
 */
export function stillTheWriter(pid: number, sinceMs: number): boolean {
  if (!pidAlive(pid)) return false;
  const started = processStartMs(pid);
  // Start times are in ticks and clocks may be set: a second of slack.
  return Number.isNaN(sinceMs) || started === null || started <= sinceMs + 1000;
}

/** The lock of a journal as found on disk: null when there is none. */
export async function readJournalLock(path: string): Promise<{ text: string; info: JournalLockInfo | null } | null> {
  const text = await readIfExists(path);
  return text === null ? null : { text, info: parseJournalLock(text) };
}
