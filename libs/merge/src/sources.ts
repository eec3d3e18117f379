import { stat } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import { InputError, UsageError } from '@capi/core';
import { expandGlob, hasGlob } from './glob.js';

/** Where results come from: a run folder, one result file, or standard input. */
export type MergeInput =
  | { kind: 'run'; dir: string; label: string }
  | { kind: 'file'; path: string; label: string }
  | { kind: 'stdin'; label: string };

/** How a path is named in messages: relative to the current folder when it is inside it. */
export function labelFor(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

async function kindOf(path: string): Promise<'dir' | 'file' | null> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : 'file';
  } catch {
    return null;
  }
}

/**
 * Turns command-line arguments into inputs, in the order given: `-` is stdin, a folder is
 * a run folder, a glob is expanded (sorted by path), anything else must be a file.
 */
export async function resolveInputs(args: string[], cwd = process.cwd()): Promise<MergeInput[]> {
  const inputs: MergeInput[] = [];
  for (const arg of args) {
    if (arg === '-') {
      if (inputs.some((i) => i.kind === 'stdin')) throw new UsageError('stdin (-) named twice');
      inputs.push({ kind: 'stdin', label: '<stdin>' });
      continue;
    }
    const paths = await expandGlob(arg, cwd);
    if (paths.length === 0) throw new InputError(arg, undefined, 'no file matches this pattern');
    for (const path of paths) {
      const kind = await kindOf(path);
      if (kind === null) throw new InputError(arg, undefined, 'no such file or folder');
      if (kind === 'dir' && hasGlob(arg)) continue;
      inputs.push(
        kind === 'dir'
          ? { kind: 'run', dir: path, label: labelFor(path, cwd) }
          : { kind: 'file', path, label: labelFor(path, cwd) },
      );
    }
  }
  return inputs;
}
