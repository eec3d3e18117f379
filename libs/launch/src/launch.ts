import { rm } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { CapiError, checkRunsFolder, ExitCode, makeDir, plural, shellQuote } from '@capi/core';
import { type CreateRunOptions, createRun, pointLatest } from './create-run.js';
import { type EarlyWorkers, earlyWorkerCount, NO_EARLY_WORKERS, startEarlyWorkers } from './early-workers.js';
import { holdingLaunch } from './launch-lock.js';
import { type Manifest, readManifest } from './manifest.js';
import { liveRunsOf } from './runs.js';
import { checkMethod, sessionExists, startSupervisor } from './start.js';
import { superviseHere } from './supervise.js';
import { runWorkerSpec } from './worker.js';

export interface LaunchRunOptions extends Omit<CreateRunOptions, 'taken'> {
  /** Launch even when a run of the same suite is live. */
  force?: boolean;
  /** Messages for the person launching (stale pid files cleared...). */
  notes?: (text: string) => void;
}

export interface Launched {
  runDir: string;
  manifest: Manifest;
  /** For `--foreground` only: the run's exit code. */
  exitCode: number | null;
  /** The supervisor's pid when known (0: a tmux/screen run that ended before the first look). */
  supervisorPid?: number;
}

/**
 * Creates a run and starts its supervisor by `method`. Background methods return once
 * the supervisor holds the run; `foreground` supervises in this process to the end.
 */
export async function launchRun(o: LaunchRunOptions): Promise<Launched> {
  const env = o.env ?? process.env;
  const notes = o.notes ?? (() => {});
  checkMethod(o.method, env);
  const suite = resolve(o.suite);
  checkRunsFolder(o.runsDir);
  await makeDir(o.runsDir);
  // Check, create and start under one lock: of launches of one suite at the same moment, one starts.
  return holdingLaunchLock(o.runsDir, notes, () => checkAndLaunch(o, suite, env, notes));
}

/**
 * Waits until no capi-launch of `runs` is between its check and its supervisor's start
 * (takes the launch lock and lets it go at once): a run being resumed has then been taken
 * by its supervisor, or left as it was. `--stop` waits so, or it would find the run not
 * running and the supervisor a moment later would run it all the same.
 */
export async function afterLaunches(runs: string, notes: (t: string) => void): Promise<void> {
  await holdingLaunch(runs, notes, async () => {});
}

/**
 * Runs `start` (check, then start a supervisor) holding the runs folder's launch lock
 * (launch-lock.ts), waiting for another capi-launch's as long as it shows life; a run supervised
 * here (`foreground`) is awaited after the lock is let go.
 */
export async function holdingLaunchLock(
  runs: string,
  notes: (t: string) => void,
  start: () => Promise<Launched & { foreground?: Promise<number> }>,
): Promise<Launched> {
  const { foreground, ...launched } = await holdingLaunch(runs, notes, start);
  return foreground ? { ...launched, exitCode: await foreground } : launched;
}

async function checkAndLaunch(
  o: LaunchRunOptions,
  suite: string,
  env: NodeJS.ProcessEnv,
  notes: (t: string) => void,
): Promise<Launched & { foreground?: Promise<number> }> {
  const live = await liveRunsOf(o.runsDir, suite, notes);
  if (live.length > 0 && !o.force) {
    const e = live[0] as (typeof live)[number];
    const how = e.alive ? `pid ${e.pid}` : `supervisor gone, ${e.workers.length} workers still running`;
    throw new CapiError(
      `run ${e.manifest.id} of ${basename(suite)} is still live (${how}): watch it with capi-watch ${shellQuote(e.manifest.id)}, stop it with capi-launch --stop ${shellQuote(e.manifest.id)}, or pass --force to start another`,
      ExitCode.badInput,
    );
  }
  // a foreground run's workers start while capi-split runs (early-workers.ts); they run
  // nothing until the supervisor, which starts after the whole suite is checked, sends a batch
  let early: EarlyWorkers = NO_EARLY_WORKERS;
  const count =
    o.method === 'foreground' && !o.launch.remote ? await earlyWorkerCount(suite, o.parallel, o.batchSize) : 0;
  const startedAt = Date.now();
  const manifest = await createRun({
    ...o,
    taken: (id) => sessionExists(o.method, id, env),
    env,
    ...(count > 0 && {
      alongside: (dir: string) => {
        early = startEarlyWorkers(runWorkerSpec(dir, basename(dir), o.launch, env), count);
        return { undo: () => early.end() };
      },
    }),
  });
  const runDir = resolve(o.runsDir, manifest.id);
  if (o.method === 'foreground') {
    const prepared = `suite split and checked in ${((Date.now() - startedAt) / 1000).toFixed(2)} s${count > 0 ? `, ${plural(count, 'worker')} started alongside` : ''}`;
    await pointLatest(o.runsDir, manifest.id);
    const { run } = await superviseHere(runDir, { env, echo: true, early, prepared });
    return { runDir, manifest, exitCode: null, foreground: run.finally(() => early.end()) };
  }
  let supervisorPid: number;
  try {
    supervisorPid = await startSupervisor(runDir, manifest, env);
  } catch (err) {
    await rm(runDir, { recursive: true, force: true });
    throw err;
  }
  await pointLatest(o.runsDir, manifest.id);
  return { runDir, manifest: await readManifest(runDir), exitCode: null, supervisorPid };
}
