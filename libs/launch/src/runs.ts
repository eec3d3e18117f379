import { access, readdir, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CapiError,
  ExitCode,
  isDirectory,
  RUN_ID_PREFIX,
  RUN_MANIFEST_REMEDY,
  RunManifestError,
  runPaths,
  shellQuote,
} from '@capi/core';
import { liveWorkers, readClaims, releaseStopped } from './claims.js';
import { hasManifest } from './launch-lock.js';
import { lookAtRun, type Manifest, mayRun, supervisorNow, updateManifest } from './manifest.js';
import { isWorkerOf } from './process.js';

export interface RunEntry {
  dir: string;
  manifest: Manifest;
  /** The pid the supervisor is judged by: core's (supervisor.pid, else run.json's `pid`; manifest.ts `lookAtRun`). */
  pid: number | null;
  /** What supervisor.pid names (null: no such file, or none in it): the file a stale clearing removes. */
  pidFilePid: number | null;
  /** The supervisor is alive. */
  alive: boolean;
  /** Workers still alive although the supervisor is gone (looked for only then). */
  workers: number[];
}

/** The folders of the runs folder named as runs are, oldest first (run ids sort by time). */
async function runFolderPaths(runs: string): Promise<string[]> {
  const names = await readdir(runs).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith(RUN_ID_PREFIX))
    .sort()
    .map((n) => join(runs, n));
}

/**
 * Every run folder in the runs folder, oldest first (run ids sort by time). A run whose
 * run.json is damaged (core's shape check) is no run to act on: left out, and handed to
 * `onDamaged` (the refusal naming file and field) for the listing to say so.
 */
export async function listRuns(runs: string, onDamaged?: (err: RunManifestError) => void): Promise<RunEntry[]> {
  const entries: RunEntry[] = [];
  for (const dir of await runFolderPaths(runs)) {
    const look = await lookAtRun(dir).catch((err: unknown) => {
      if (err instanceof RunManifestError) onDamaged?.(err);
      return null;
    });
    if (!look) continue;
    const { pid, pidFilePid, alive, manifest } = look;
    entries.push({ dir, manifest, pid, pidFilePid, alive, workers: await workersLeft(dir, manifest, alive) });
  }
  return entries;
}

/**
 * Run folders (named as runs are) without run.json: made by a capi-launch that is still
 * splitting into them, or that ended before it wrote run.json (launch-lock.ts
 * `lookAtUnmade` tells which, looking at them again after the lock).
 */
export async function runFoldersWithoutManifest(runs: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of await runFolderPaths(runs))
    if ((await isDirectory(dir)) && !(await hasManifest(dir))) found.push(dir);
  return found;
}

/**
 * Valid only where no capi-launch can be preparing the run (under the runs folder's launch
 * lock, or once `launchUnderWay` said no): run.json still says `created` and no supervisor
 * or worker of it is alive, so its capi-launch ended before its supervisor took it.
 */
export const isNeverStarted = (e: RunEntry) => e.manifest.state === 'created' && !e.alive && e.workers.length === 0;

/** The supervisor is gone but some of its workers still run tests: the run is not over. */
const isDeadWithWorkers = (e: RunEntry) => !e.alive && e.workers.length > 0;

/**
 * A pid file whose process is gone means the supervisor died (kill -9, reboot). When its
 * workers are gone too, the file is removed, their claims released, and a run that still
 * says `running` becomes `stopped`, so it can be resumed. While a worker still runs, the
 * run is not stopped and nothing is written (unless `takeOver`: a resume, whose new
 * supervisor stops those workers first). `e` is a listing's look, taken earlier: the run is
 * looked at again holding run.json.lock, as a supervisor takes a run under it, and only that
 * look is acted on. A run taken meanwhile by a live supervisor (a resume's, the late one of a
 * killed launch) is left as it is, and `e` says it lives. `e` is brought up to date either way.
 * Returns a message for the user, or null.
 */
export async function clearStale(e: RunEntry, takeOver = false): Promise<string | null> {
  if (!isStale(e)) return null;
  if (isDeadWithWorkers(e) && !takeOver) return stillWorking(e);
  const was = goneSupervisor(e);
  let said: string | null = null;
  e.manifest = await updateManifest(e.dir, async (now) => {
    Object.assign(e, await lookedAgain(e.dir, now));
    if (e.alive) {
      said = `${now.id}: ${was} was gone, but supervisor ${e.pid} has taken the run since: it is left as it is`;
      return null;
    }
    if (!isStale(e)) return null;
    if (isDeadWithWorkers(e) && !takeOver) {
      said = stillWorking(e);
      return null;
    }
    const gone = `${goneSupervisor(e)} is gone`;
    if (e.pidFilePid) await rm(runPaths(e.dir).pidFile, { force: true });
    if (isDeadWithWorkers(e)) {
      said = `${now.id}: stale pid file cleared (${gone}); its ${e.workers.length} workers still running are stopped by the new supervisor`;
      return null;
    }
    await releaseStopped(e.dir, await readClaims(e.dir), (pid) => isWorkerOf(pid, now.id));
    said = `${now.id}: stale pid file cleared (${gone}); the run is stopped and can be resumed`;
    return now.state === 'running' ? { state: 'stopped', pid: null } : null;
  });
  return said;
}

/** A supervisor is named as stale: a pid file whose supervisor is not alive, or `running` without one. */
const isStale = (e: RunEntry) => !e.alive && (e.pidFilePid !== null || e.manifest.state === 'running');

const goneSupervisor = (e: RunEntry) => `supervisor ${e.pid ?? e.manifest.pid ?? '?'}`;

const stillWorking = (e: RunEntry) =>
  `${e.manifest.id}: ${goneSupervisor(e)} is gone, but ${e.workers.length} of its workers still run tests (pids ${e.workers.join(', ')}): stop them with capi-launch --stop ${shellQuote(e.manifest.id)}, or take the run over with capi-launch --resume ${shellQuote(e.manifest.id)}`;

/** A listing's entry as the run is now (run.json `m` read under run.json.lock): its supervisor, then its workers. */
async function lookedAgain(dir: string, m: Manifest): Promise<Omit<RunEntry, 'dir'>> {
  const { pid, pidFilePid, alive } = supervisorNow(dir, m);
  return { manifest: m, pid, pidFilePid, alive, workers: await workersLeft(dir, m, alive) };
}

/** Workers of a run that may run, looked for only when its supervisor is gone (`RunEntry.workers`). */
const workersLeft = async (dir: string, m: Manifest, alive: boolean) =>
  alive || !mayRun(m.state) ? [] : liveWorkers(await readClaims(dir), m.id);

/** What a listing says of a run it leaves out because its run.json is damaged (`what`: what it did not do). */
export const damagedNote = (err: RunManifestError, what: string) =>
  `${err.path}: ${err.problem}: ${what}; ${RUN_MANIFEST_REMEDY}`;

/** A file's real path (symlinks resolved), or the path itself when it cannot be had (the file is gone). */
const realPathOf = (file: string) => realpath(file).catch(() => file);

/**
 * Live runs of the same suite: a second launch on them is refused unless forced. The
 * same file is compared by its real path, so a symlink or another path to it counts.
 */
export async function liveRunsOf(runs: string, suiteFile: string, notes: (t: string) => void): Promise<RunEntry[]> {
  const live: RunEntry[] = [];
  const real = await realPathOf(suiteFile);
  const damaged = (err: RunManifestError) => notes(damagedNote(err, 'not looked at for a live run of this suite'));
  for (const e of await listRuns(runs, damaged)) {
    const stale = await clearStale(e);
    if (stale) notes(stale);
    const same = (await realPathOf(e.manifest.suite.file)) === real;
    if ((e.alive || isDeadWithWorkers(e)) && same) live.push(e);
    // called under the launch lock: no other capi-launch is preparing a run
    else if (same && isNeverStarted(e)) notes(neverStartedNote(e.manifest.id, e.dir, 'a launch of this suite,'));
  }
  return live;
}

/** What to say of a run that never started, and the commands that start or remove it. */
export function neverStartedNote(id: string, dir: string, what = ''): string {
  // `what`: how the run is named after its id (`a launch of this suite,`)
  return `${id}${what ? `, ${what} ` : ': '}never started: its capi-launch ended before its supervisor took the run (killed, or the supervisor could not start), so nothing will run it: capi-launch --resume ${shellQuote(dir)} starts it, capi-launch --prune removes it`;
}

export const isFinished = (e: Pick<RunEntry, 'alive' | 'manifest'>) =>
  !e.alive && (e.manifest.state === 'completed' || e.manifest.state === 'failed');

/** How many finished (completed or failed, supervisor gone) runs the runs folder holds. */
export async function countFinished(runs: string): Promise<number> {
  return (await listRuns(runs)).filter(isFinished).length;
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
