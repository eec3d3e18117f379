import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { type AsideKind, asidePrefix, processStartMs } from '@capi/core';

/*
 * The folders `--out DIR` makes beside DIR (core's AsideKind: tmp, old, gone), each named by
 * its maker: `.DIR.KIND-PID-START-HOST-XXXXXX` (the pid, its start time in base 36 or 0 where
 * /proc cannot tell, a tag of the host's name, a random end). A split killed (SIGKILL, a power
 * cut) leaves them; the next split into DIR judges each (leftovers.ts).
 */

export const hostTag = () => createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

function makerTag(): string {
  const start = processStartMs(process.pid);
  return `${process.pid}-${start === null ? 0 : Math.round(start).toString(36)}-${hostTag()}`;
}

/** `--out DIR`'s temporary folder, made beside DIR (0700). */
export async function makeTempFolder(target: string): Promise<string> {
  return mkdtemp(join(dirname(target), `${asidePrefix(target, 'tmp')}${makerTag()}-`));
}

/** A new name beside `target` of this process's `kind` (not made: a rename's destination). */
export function asideName(target: string, kind: AsideKind): string {
  const end = randomBytes(6).toString('base64url').replace(/[-_]/g, 'x').slice(0, 6);
  return join(dirname(target), `${asidePrefix(target, kind)}${makerTag()}-${end}`);
}

/** The `.DIR.lock` beside DIR, held while a split judges leftovers or moves its batches into DIR. */
export const folderLockOf = (target: string) => join(dirname(target), `.${basename(target)}.lock`);

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A name beside `target` as this capi-split makes them: kind, pid, start (base 36), host tag. */
export const asidePattern = (target: string) =>
  new RegExp(
    `^${escapeRegExp(`.${basename(target)}.`)}(tmp|old|gone)-(\\d+)-([0-9a-z]+)-([0-9a-f]{8})-[A-Za-z0-9]{6}$`,
  );

/** The names beside `target` of `kinds`, by their start (whoever made them), sorted. */
export async function asideFolders(target: string, kinds: readonly AsideKind[]): Promise<string[]> {
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  return names.filter((n) => kinds.some((k) => n.startsWith(asidePrefix(target, k)))).sort();
}
