import { access, readdir, realpath, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CapiError, checkRunsFolder, ExitCode, RUN_ID_PREFIX, runPaths, shellQuote } from '@capi/core';
import { liveWorkers, readClaims, releaseStopped } from './claims.js';
import { lookAtRun, type Manifest, mayRun, updateManifest } from './manifest.js';
import { isWorkerOf } from './process.js';

export interface RunEntry {
  dir: string;
  manifest: Manifest;
  pid: number | null;
  /** The supervisor is alive. */
  alive: boolean;
  /** Workers still alive although the supervisor is gone (looked for only then). */
  workers: number[];
}

/** Every run folder in the runs folder, oldest first (run ids sort by time). */
export async function listRuns(runs: string): Promise<RunEntry[]> {
  let names: string[];
  try {
    names = await readdir(runs);
  } catch {
    return [];
  }
  const entries: RunEntry[] = [];
  for (const name of names.filter((n) => n.startsWith(RUN_ID_PREFIX)).sort()) {
    const dir = join(runs, name);
    const look = await lookAtRun(dir).catch(() => null);
    if (!look) continue;
    const { pid, alive, manifest } = look;
    const workers = alive || !mayRun(manifest.state) ? [] : liveWorkers(await readClaims(dir), manifest.id);
    entries.push({ dir, manifest, pid, alive, workers });
  }
  return entries;
}

/** The supervisor is gone but some of its workers still run tests: the run is not over. */
const isDeadWithWorkers = (e: RunEntry) => !e.alive && e.workers.length > 0;

/**
 * A pid file whose process is gone means the supervisor died (kill -9, reboot). When its
 * workers are gone too, the file is removed, their claims released, and a run that still
 * says `running` becomes `stopped`, so it can be resumed. While a worker still runs, the
 * run is not stopped and nothing is written (unless `takeOver`: a resume, whose new
 * supervisor stops those workers first). Returns a message for the user, or null.
 */
export async function clearStale(e: RunEntry, takeOver = false): Promise<string | null> {
  if (e.alive) return null;
  const wasRunning = e.manifest.state === 'running';
  if (!e.pid && !wasRunning) return null;
  const gone = `supervisor ${e.pid ?? e.manifest.pid ?? '?'} is gone`;
  if (isDeadWithWorkers(e) && !takeOver)
    return `${e.manifest.id}: ${gone}, but ${e.workers.length} of its workers still run tests (pids ${e.workers.join(', ')}): stop them with capi-launch --stop ${shellQuote(e.manifest.id)}, or take the run over with capi-launch --resume ${shellQuote(e.manifest.id)}`;
  if (e.pid) await rm(runPaths(e.dir).pidFile, { force: true });
  if (isDeadWithWorkers(e))
    return `${e.manifest.id}: stale pid file cleared (${gone}); its ${e.workers.length} workers still running are stopped by the new supervisor`;
  await releaseStopped(e.dir, await readClaims(e.dir), (pid) => isWorkerOf(pid, e.manifest.id));
  if (wasRunning) e.manifest = await updateManifest(e.dir, { state: 'stopped', pid: null });
  return `${e.manifest.id}: stale pid file cleared (${gone}); the run is stopped and can be resumed`;
}

/** A file's real path (symlinks resolved), or the path itself when it cannot be had (the file is gone). */
const realPathOf = (file: string) => realpath(file).catch(() => file);

/**
 * Live runs of the same suite: a second launch on them is refused unless forced. The
 * same file is compared by its real path, so a symlink or another path to it counts.
 */
export async function liveRunsOf(runs: string, suiteFile: string, notes: (t: string) => void): Promise<RunEntry[]> {
  const live: RunEntry[] = [];
  const real = await realPathOf(suiteFile);
  for (const e of await listRuns(runs)) {
    const stale = await clearStale(e);
    if (stale) notes(stale);
    if ((e.alive || isDeadWithWorkers(e)) && (await realPathOf(e.manifest.suite.file)) === real) live.push(e);
  }
  return live;
}

const isFinished = (e: RunEntry) => !e.alive && (e.manifest.state === 'completed' || e.manifest.state === 'failed');

/** How many finished (completed or failed, supervisor gone) runs the runs folder holds. */
export async function countFinished(runs: string): Promise<number> {
  return (await listRuns(runs)).filter(isFinished).length;
}

/**
 * Removes finished (completed or failed) runs, oldest first, keeping the newest `keep`. Live and stopped (resumable)
 * runs stay. With `dryRun` it only names the runs it would remove.
 */
export async function pruneRuns(runs: string, keep: number, dryRun = false): Promise<string[]> {
  checkRunsFolder(runs);
  const finished = (await listRuns(runs)).filter(isFinished);
  const doomed = finished.slice(0, Math.max(0, finished.length - keep));
  if (dryRun) return doomed.map((e) => e.manifest.id);
  for (const e of doomed) await rm(e.dir, { recursive: true, force: true });
  const latest = await stat(join(runs, 'latest')).catch(() => null);
  if (!latest) await rm(join(runs, 'latest'), { force: true });
  return doomed.map((e) => e.manifest.id);
}

/**
 * `capi-merge RUN --clean` removes batches/, the journals, claims/ and status/ and keeps
 * report/ and run.json: such a run has nothing left to resume or rerun from.
 */
export async function refuseCleaned(runDir: string, action: string): Promise<void> {
  const p = runPaths(runDir);
  const has = (f: string) =>
    access(f).then(
      () => true,
      () => false,
    );
  if ((await has(p.batchIndex)) || !(await has(p.report))) return;
  throw new CapiError(
    `${action}: run ${runDir} was cleaned by capi-merge --clean (its batches and journals are gone, report/ is kept), so there is nothing to ${action === '--resume' ? 'resume' : 'rerun'} from; launch the suite again instead`,
    ExitCode.badInput,
  );
}
