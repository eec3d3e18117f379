import { readdir } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { CapiError, ExitCode } from '@capi/core';

/**
 * A small glob for result files: `*`, `?`, `[abc]` within a path segment, `**` for any
 * depth (a trailing `**`: every file below). Node 20 has no fs.glob; this is enough for
 * `results/*.ndjson`, `machines/** /results/*.ndjson` and `machines/**`, and matches files
 * only, sorted by path.
 */

export function hasGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

function segmentRegex(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 1);
      if (close === -1) re += '\\[';
      else {
        const body = segment
          .slice(i + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  // A leading dot is matched only by a pattern that says so, as in a shell.
  try {
    return new RegExp(segment.startsWith('.') ? `^${re}$` : `^(?!\\.)${re}$`);
  } catch (err) {
    // `[z-a]`: a bad pattern is bad input (exit 2), never a stack trace
    const why = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '');
    throw new CapiError(`invalid glob "${segment}": ${why.toLowerCase()}`, ExitCode.badInput);
  }
}

async function entries(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

async function walk(dir: string, parts: string[], out: string[], depth: number): Promise<void> {
  if (depth > 64) return;
  const [head, ...rest] = parts;
  if (head === undefined) return;
  if (head === '**') {
    const all = await entries(dir);
    // A trailing `**` is every file below, as in bash's globstar and fast-glob.
    if (rest.length === 0) {
      for (const e of all) if (e.isFile() && !e.name.startsWith('.')) out.push(join(dir, e.name));
    } else await walk(dir, rest, out, depth + 1);
    for (const e of all)
      if (e.isDirectory() && !e.name.startsWith('.')) await walk(join(dir, e.name), parts, out, depth + 1);
    return;
  }
  if (!hasGlob(head)) {
    const next = join(dir, head);
    if (rest.length === 0) {
      const found = (await entries(dir)).find((e) => e.name === head && e.isFile());
      if (found) out.push(next);
    } else await walk(next, rest, out, depth + 1);
    return;
  }
  const re = segmentRegex(head);
  for (const e of await entries(dir)) {
    if (!re.test(e.name)) continue;
    if (rest.length === 0) {
      if (e.isFile()) out.push(join(dir, e.name));
    } else if (e.isDirectory()) await walk(join(dir, e.name), rest, out, depth + 1);
  }
}

/** The files a pattern matches, absolute and sorted; a pattern without wildcards is returned as is. */
export async function expandGlob(pattern: string, cwd = process.cwd()): Promise<string[]> {
  const abs = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
  if (!hasGlob(pattern)) return [abs];
  const parts = abs.split(sep);
  const firstGlob = parts.findIndex(hasGlob);
  const base = parts.slice(0, firstGlob).join(sep) || sep;
  const out: string[] = [];
  await walk(base, parts.slice(firstGlob), out, 0);
  return [...new Set(out)].sort();
}
