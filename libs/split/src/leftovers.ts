import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pidAlive, processStartMs } from '@capi/core';

/**
 * `--out DIR`'s temporary folder, made beside DIR and renamed into place at the end. Its name
 * says who made it: `.DIR.tmp-PID-START-HOST-XXXXXX` (the pid, its start time in base 36 or
 * 0 where /proc cannot tell, a tag of the host's name, mkdtemp's random end). A split killed
 * (SIGKILL, a power cut) before its rename leaves it; the next split into DIR removes the
 * ones it can prove abandoned (`clearLeftovers`).
 */
export async function makeTempFolder(target: string): Promise<string> {
  const start = processStartMs(process.pid);
  const tag = `${process.pid}-${start === null ? 0 : Math.round(start).toString(36)}-${hostTag()}`;
  return mkdtemp(join(dirname(target), `.${basename(target)}.tmp-${tag}-`));
}

const hostTag = () => createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Temporary folders of earlier splits into `target`, left beside it: each removed when it is
 * provably this user's and abandoned (made on this host by a process that is gone, or whose
 * pid now belongs to a process that started later), and named in `note` either way. One of a
 * live split is left alone without a word; one that cannot be judged (another user's, another
 * host's, a name of an older version) is named and left. Never throws: a folder that cannot be
 * looked at or removed is named too.
 */
export async function clearLeftovers(target: string, note: (text: string) => void): Promise<void> {
  const prefix = `.${basename(target)}.tmp-`;
  const ours = new RegExp(`^${escapeRegExp(prefix)}(\\d+)-([0-9a-z]+)-([0-9a-f]{8})-[A-Za-z0-9]{6}$`);
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(prefix))) {
    const path = join(dirname(target), name);
    const why = await abandoned(path, ours.exec(name));
    if (why === null) continue;
    if (typeof why === 'object') {
      note(
        `${path}: left beside ${target} (${why.unknown}): not removed; remove it yourself if no capi-split is using it`,
      );
      continue;
    }
    try {
      await rm(path, { recursive: true, force: true });
      note(`removed ${path}: left by a capi-split that is gone (${why})`);
    } catch (err) {
      note(`${path}: left by a capi-split that is gone (${why}), but could not be removed: ${(err as Error).message}`);
    }
  }
}

/** Why it is abandoned, why that cannot be told, or null: a live split's (or gone meanwhile). */
async function abandoned(path: string, m: RegExpExecArray | null): Promise<string | { unknown: string } | null> {
  const st = await lstat(path).catch(() => null);
  if (st === null) return null;
  if (!st.isDirectory()) return { unknown: 'not a folder' };
  if (typeof process.getuid === 'function' && st.uid !== process.getuid())
    return { unknown: `another user's (uid ${st.uid})` };
  if (!m) return { unknown: 'a name without its maker, of an older capi-split?' };
  const [, pidText, startText, host] = m;
  if (host !== hostTag()) return { unknown: 'made on another machine' };
  const pid = Number(pidText);
  if (!pidAlive(pid)) return `pid ${pid} has ended`;
  const started = processStartMs(pid);
  const recorded = Number.parseInt(startText as string, 36);
  // its start time unknown (no /proc): the pid alive may be the maker
  if (recorded === 0 || started === null || Math.abs(Math.round(started) - recorded) <= 10) return null;
  return `pid ${pid} is now another process`;
}
