import { access, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CapiError, ExitCode, RUN_ID_PREFIX, runPaths } from '@capi/core';
import { type Manifest, readManifest, updateManifest } from './manifest.js';
import { isAlive } from './process.js';
import { readPid, SUPERVISOR_MARKER } from './supervise.js';

export interface RunEntry {
  dir: string;
  manifest: Manifest;
  pid: number | null;
  alive: boolean;
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
    const manifest = await readManifest(dir).catch(() => null);
    if (!manifest) continue;
    const pid = await readPid(dir);
    entries.push({ dir, manifest, pid, alive: isAlive(pid, SUPERVISOR_MARKER) });
  }
  return entries;
}

/**
 * A pid file whose process is gone means the supervisor died (kill -9, reboot): the
 * file is removed and a run that still says `running` becomes `stopped`, so it can be
 * resumed. Returns a message for the user, or null when nothing was stale.
 */
export async function clearStale(e: RunEntry): Promise<string | null> {
  if (e.alive) return null;
  const wasRunning = e.manifest.state === 'running';
  if (!e.pid && !wasRunning) return null;
  if (e.pid) await rm(runPaths(e.dir).pidFile, { force: true });
  if (wasRunning) e.manifest = await updateManifest(e.dir, { state: 'stopped', pid: null });
  return `${e.manifest.id}: stale pid file cleared (supervisor ${e.pid ?? e.manifest.pid ?? '?'} is gone); the run is stopped and can be resumed`;
}

/** Live runs of the same suite: a second launch on them is refused unless forced. */
export async function liveRunsOf(runs: string, suiteFile: string, notes: (t: string) => void): Promise<RunEntry[]> {
  const live: RunEntry[] = [];
  for (const e of await listRuns(runs)) {
    const stale = await clearStale(e);
    if (stale) notes(stale);
    if (e.alive && e.manifest.suite.file === suiteFile) live.push(e);
  }
  return live;
}

const isFinished = (e: RunEntry) => !e.alive && (e.manifest.state === 'completed' || e.manifest.state === 'failed');

/** How many finished (completed or failed, supervisor gone) runs the runs folder holds. */
export async function countFinished(runs: string): Promise<number> {
  return (await listRuns(runs)).filter(isFinished).length;
}

/** Removes finished (completed or failed) runs, oldest first, keeping the newest `keep`. Live and stopped (resumable) runs stay. */
export async function pruneRuns(runs: string, keep: number): Promise<string[]> {
  const finished = (await listRuns(runs)).filter(isFinished);
  const doomed = finished.slice(0, Math.max(0, finished.length - keep));
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
