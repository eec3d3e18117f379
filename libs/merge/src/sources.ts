import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { InputError, pathExists, runPaths, UsageError } from '@capi/core';
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

/**
 * Files capi writes beside result journals that are not results: capi-exec's
 * `<journal>.meta.json`, lock and heartbeat files, and temp files of an atomic write in
 * progress. A glob such as `results/*` or `machines/**` passes over them.
 */
export function isSidecar(path: string): boolean {
  return /\.(meta\.json|lock|status\.json)$|\.tmp-\d+-[0-9a-f]+$/.test(path);
}

/**
 * Read as a run's files: run.json, or a run's results/ or batches/ (a run folder copied
 * without its run.json, a cleaned run). Not core's `isRunFolder` (a run is a folder holding
 * run.json): capi-merge reads results wherever they are laid out as a run's
 * (docs/run-folder.md, "What a run folder is").
 */
async function readsAsRun(dir: string): Promise<boolean> {
  const p = runPaths(dir);
  const found = await Promise.all([pathExists(p.manifest), pathExists(p.results), pathExists(p.batches)]);
  return found.some(Boolean);
}

/** The `*.ndjson` files directly in a folder, sorted by name. */
async function ndjsonIn(dir: string): Promise<string[]> {
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith('.ndjson'));
  return names.map((e) => join(dir, e.name)).sort();
}

/**
 * A folder is a run folder; one that is not but holds `*.ndjson` files (a run's
 * `results/`, or a machine's copy of it) is read as those result files, by name.
 */
async function folderInputs(dir: string, arg: string, cwd: string): Promise<MergeInput[]> {
  if (await readsAsRun(dir)) return [{ kind: 'run', dir, label: labelFor(dir, cwd) }];
  const files = await ndjsonIn(dir);
  if (files.length === 0)
    throw new InputError(
      arg,
      undefined,
      'not a run folder (no run.json, results/ or batches/) and no *.ndjson result files in it',
    );
  return files.map((path) => ({ kind: 'file', path, label: labelFor(path, cwd) }));
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
 * a run folder (or a folder of result files), a glob is expanded (sorted by path, capi's
 * sidecars left out), anything else must be a file.
 */
export async function resolveInputs(args: string[], cwd = process.cwd()): Promise<MergeInput[]> {
  const inputs: MergeInput[] = [];
  for (const arg of args) {
    if (arg === '-') {
      if (inputs.some((i) => i.kind === 'stdin')) throw new UsageError('stdin (-) named twice');
      inputs.push({ kind: 'stdin', label: '<stdin>' });
      continue;
    }
    const glob = hasGlob(arg);
    const matched = await expandGlob(arg, cwd);
    const paths = glob ? matched.filter((p) => !isSidecar(p)) : matched;
    if (paths.length === 0)
      throw new InputError(
        arg,
        undefined,
        matched.length === 0 ? 'no file matches this pattern' : "only capi's sidecar files match this pattern",
      );
    for (const path of paths) {
      const kind = await kindOf(path);
      if (kind === null) throw new InputError(arg, undefined, 'no such file or folder');
      if (kind === 'dir' && glob) continue;
      if (kind === 'dir') inputs.push(...(await folderInputs(path, arg, cwd)));
      else inputs.push({ kind: 'file', path, label: labelFor(path, cwd) });
    }
  }
  return inputs;
}
