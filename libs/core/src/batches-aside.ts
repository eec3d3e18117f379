import { readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pathExists } from './path-exists.js';

/**
 * What `capi-split --out DIR` sets beside DIR (docs/capi-split.md, "Replacing batches"):
 * `tmp`, its new batches being written; `old`, DIR itself renamed aside by `--force` until the
 * new folder is in place (whole, the earlier batches); `gone`, an old one being removed. The
 * name's start, the rule capi-split writes by and readers of batches look for.
 */
export type AsideKind = 'tmp' | 'old' | 'gone';

export const asidePrefix = (dir: string, kind: AsideKind) => `.${basename(dir)}.${kind}-`;

/**
 * Why a batches folder `dir` is missing, when a capi-split `--force` left it so: killed between
 * renaming DIR aside and the new one into place, DIR is missing and `.DIR.old-…` beside it
 * holds all of its batches. Null when `dir` exists or nothing of it is set aside: every reader
 * of batches adds this to its "no such file", naming the remedy.
 */
export async function setAsideNote(dir: string): Promise<string | null> {
  if (await pathExists(dir)) return null;
  const names = await readdir(dirname(dir)).catch(() => [] as string[]);
  return noteOf(dir, names);
}

/** The same, without the thread pool (capi-exec --serve's batch reads are synchronous). */
export function setAsideNoteSync(dir: string): string | null {
  let names: string[];
  try {
    names = readdirSync(dirname(dir));
  } catch {
    return null;
  }
  return names.includes(basename(dir)) ? null : noteOf(dir, names);
}

function noteOf(dir: string, names: string[]): string | null {
  const old = names.filter((n) => n.startsWith(asidePrefix(dir, 'old'))).sort()[0];
  if (old === undefined) return null;
  return `${dir} is missing: ${join(dirname(dir), old)} beside it holds its batches, set aside by a capi-split --force that did not finish; the next capi-split --out ${dir} puts them back (or rename it to ${dir})`;
}
