import { readdir, readlink, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import {
  type BeingMadeWait,
  CapiError,
  ExitCode,
  hasRunLayout,
  isErrnoException,
  isRunFolder,
  pathExists,
  REPORT_NAMES,
  readRunManifest,
  runBeingMade,
  runPaths,
  stillBeingMadeNote,
  UsageError,
} from '@capi/core';

/**
 * What is being watched: a run folder written by capi-launch, or the files of a bare
 * capi-exec given `--status` and `--journal`.
 */
export type WatchTarget =
  | { kind: 'run'; id: string; dir: string }
  | { kind: 'exec'; id: string; dirs: string[]; files: Map<string, ExecFile> };

export interface ExecFile {
  role: 'journal' | 'heartbeat' | 'log';
  key: string;
}

/** `merged`: report/results.ndjson, the results of a run whose journals `capi-merge --clean` removed. */
export type FileRole = 'manifest' | 'pid' | 'index' | 'control' | 'journal' | 'heartbeat' | 'log' | 'merged';

export interface ClassifiedFile {
  role: FileRole;
  key: string;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    if (isErrnoException(err) && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return false;
    throw err;
  }
}

const stem = (path: string) => basename(path, extname(path));

/** The newest run under `runs`: the `latest` link, else the greatest run id holding run.json. */
export async function newestRun(runs: string): Promise<string | null> {
  try {
    const link = resolve(runs, await readlink(join(runs, 'latest')));
    if (await isRunFolder(link)) return link;
  } catch {
    // No usable `latest` link: fall back to the names, which sort by time.
  }
  let names: string[];
  try {
    names = await readdir(runs);
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') return null;
    throw err;
  }
  // hidden names are no run ids: a run --prune set aside (`.pruned-ID-…`, being removed), locks, temp links
  const runIds = names.filter((n) => n !== 'latest' && !n.startsWith('.')).sort();
  for (let i = runIds.length - 1; i >= 0; i--) {
    const dir = join(runs, runIds[i] as string);
    if (await isRunFolder(dir)) return dir;
  }
  return null;
}

/** Pairs one heartbeat with one journal under one key; several are keyed by file name. */
export function execTarget(id: string, statuses: string[], journals: string[], logs: string[]): WatchTarget {
  const files = new Map<string, ExecFile>();
  const single = statuses.length <= 1 && journals.length <= 1;
  for (const p of statuses) files.set(resolve(p), { role: 'heartbeat', key: single ? 'exec' : stem(p) });
  for (const p of journals) files.set(resolve(p), { role: 'journal', key: single ? 'exec' : stem(p) });
  for (const p of logs) files.set(resolve(p), { role: 'log', key: stem(p) });
  const dirs = [...new Set([...files.keys()].map((p) => dirname(p)))];
  return { kind: 'exec', id, dirs, files };
}

/** A folder holding a bare capi-exec's files: *.json heartbeats, *.ndjson journals, *.log. */
async function execFolder(dir: string): Promise<WatchTarget> {
  const names = await readdir(dir);
  const pick = (ext: string) => names.filter((n) => extname(n) === ext).map((n) => join(dir, n));
  const statuses = pick('.json').filter((p) => !['control', 'index'].includes(stem(p)));
  const journals = pick('.ndjson');
  if (statuses.length === 0 && journals.length === 0)
    throw new UsageError(`${dir}: not a run folder (no run.json) and no heartbeat or journal in it`);
  return execTarget(basename(dir), statuses, journals, pick('.log'));
}

export interface TargetOptions {
  run?: string | undefined;
  status?: string | undefined;
  journal?: string | undefined;
  runsDir: string;
  cwd: string;
  /** How a run being made is waited for (core's `LAUNCH_LOCK_LIFE` unless a test says). */
  wait?: Partial<BeingMadeWait>;
}

/**
 * A run folder to watch, its run.json (when it has one yet) read once by core's one reader:
 * a damaged one is named with its field (exit 2) before the watch starts, as capi-launch
 * and capi-merge name it.
 */
async function runTarget(dir: string): Promise<WatchTarget> {
  const manifest = runPaths(dir).manifest;
  if (await pathExists(manifest)) await readRunManifest(manifest);
  return { kind: 'run', id: basename(dir), dir };
}

/** `onWait`: told when a run folder being made is waited for, then at intervals (runBeingMade). */
export async function findWatchTarget(
  opts: TargetOptions,
  onWait: (text: string) => void = () => {},
): Promise<WatchTarget | null> {
  if (opts.status || opts.journal) {
    if (opts.run) throw new UsageError('give a RUN or --status/--journal, not both');
    const s = opts.status ? [resolve(opts.cwd, opts.status)] : [];
    const j = opts.journal ? [resolve(opts.cwd, opts.journal)] : [];
    return execTarget(basename(j[0] ?? s[0] ?? 'exec', '.ndjson'), s, j, []);
  }
  if (!opts.run) {
    const dir = await newestRun(opts.runsDir);
    return dir ? runTarget(dir) : null;
  }
  for (const dir of [resolve(opts.cwd, opts.run), resolve(opts.runsDir, opts.run)]) {
    if (!(await isDir(dir))) continue;
    // core's one rule, capi-launch's too: a run folder holds run.json; one its capi-launch is
    // still making (its status/ and results/ come before run.json) is waited for (runBeingMade)
    const made = await runBeingMade(dir, isRunFolder, onWait, opts.wait);
    if (made === 'made') return runTarget(dir);
    if (made === 'gone')
      throw new UsageError(
        `${dir}: removed while its capi-launch was making it: the launch failed, no run was started`,
      );
    // the launch that holds the lock went silent: not a usage error, capi-launch's exit 3 too
    if (made === 'held') throw new CapiError(stillBeingMadeNote(dir, opts.wait?.silentMs), ExitCode.cannotRun);
    // no run: a bare capi-exec's files, laid out as a run's (status/, results/) or loose
    return (await hasRunLayout(dir)) ? runTarget(dir) : execFolder(dir);
  }
  throw new UsageError(`run not found: "${opts.run}" (not a folder, nor a run id under ${opts.runsDir})`);
}

/** Which part of the run a path is, or null for a file the watcher ignores. */
export function classify(target: WatchTarget, path: string): ClassifiedFile | null {
  if (target.kind === 'exec') {
    const f = target.files.get(path);
    return f ? { role: f.role, key: f.key } : null;
  }
  const p = runPaths(target.dir);
  if (path === p.manifest) return { role: 'manifest', key: '' };
  if (path === p.pidFile) return { role: 'pid', key: '' };
  if (path === p.batchIndex) return { role: 'index', key: '' };
  if (path === p.control) return { role: 'control', key: '' };
  if (path === join(p.report, REPORT_NAMES.merged)) return { role: 'merged', key: '' };
  const dir = dirname(path);
  const ext = extname(path);
  if (dir === p.results && ext === '.ndjson') return { role: 'journal', key: stem(path) };
  if (dir === p.status && ext === '.json') return { role: 'heartbeat', key: stem(path) };
  if (dir === p.logs && ext === '.log') return { role: 'log', key: stem(path) };
  return null;
}
