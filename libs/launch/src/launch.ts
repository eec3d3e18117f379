import { rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CapiError, checkRunsFolder, ExitCode, makeDir, shellQuote, withExclusiveFile } from '@capi/core';
import { checkResumeBaseUrl, effectiveBaseUrl } from './base-url.js';
import { releaseUnfinished } from './claims.js';
import { changeControl } from './control.js';
import { type CreateRunOptions, createRun, type Method, pointLatest, readBatchIndex } from './create-run.js';
import { refuseMissingEnv } from './env-refs.js';
import { EXEC_SWITCHES, showExecArgs } from './exec-flag-list.js';
import { type Manifest, readManifest, updateManifest } from './manifest.js';
import { clearStale, listRuns, liveRunsOf, refuseCleaned } from './runs.js';
import { checkMethod, closeSession, sessionExists, startSupervisor } from './start.js';
import { describeSuiteChange, suiteChange, testsChanged } from './suite-change.js';
import { superviseRun } from './supervise.js';

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
  const { foreground, ...launched } = await withExclusiveFile(
    join(o.runsDir, LAUNCH_LOCK),
    { waitMs: 120_000, onWait: () => notes(`waiting for another capi-launch in ${o.runsDir} to start its run`) },
    () => checkAndLaunch(o, suite, env, notes),
  );
  return foreground ? { ...launched, exitCode: await foreground } : launched;
}

/** Held by a capi-launch from its live-run check until its supervisor has written its pid. */
export const LAUNCH_LOCK = '.launch.lock';

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
  const manifest = await createRun({
    ...o,
    taken: (id) => sessionExists(o.method, id, env),
    env,
  });
  const runDir = resolve(o.runsDir, manifest.id);
  if (o.method === 'foreground') {
    await pointLatest(o.runsDir, manifest.id);
    // the lock is let go once this process is the run's recorded supervisor
    let taken = () => {};
    const took = new Promise<void>((r) => {
      taken = r;
    });
    const run = superviseRun(runDir, { env, echo: true, onTaken: () => taken() });
    await Promise.race([took, run.catch(() => {})]);
    return { runDir, manifest, exitCode: null, foreground: run };
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

/**
 * Continues a stopped, crashed or interrupted run in its own folder, by the same or
 * another method. The supervisor runs only what has no final result in the journals.
 */

/**
 * The stored capi-exec flags with those given again replacing them (all `--header`s when
 * one is given): a resume can point the run at a target that has moved or come back.
 * A stored `--force` (a resume that was forced) is never kept: each resume decides anew.
 */
export function overrideExecArgs(stored: string[], given: string[]): string[] {
  const names = new Set(given.filter((t) => t.startsWith('--')));
  const kept: string[] = [];
  for (let i = 0; i < stored.length; i++) {
    const flag = stored[i] as string;
    const words = EXEC_SWITCHES.has(flag) ? [flag] : [flag, stored[++i] as string];
    if (!names.has(flag) && flag !== '--force') kept.push(...words);
  }
  return [...kept, ...given];
}

/** Run options given with `--resume`: applied before the new supervisor starts. */
export interface ResumeChanges {
  rate?: string | null;
  concurrency?: number;
  parallel?: number;
  maxRestarts?: number;
  onFinish?: string;
}

/**
 * A suite edited since the launch: a resume would run the tests as they were split then.
 * Refused unless `force`; a file that changed in no test is only mentioned.
 */
async function checkSuite(
  runDir: string,
  m: Manifest,
  env: NodeJS.ProcessEnv,
  force: boolean,
  notes: (t: string) => void,
) {
  const change = await suiteChange(runDir, m, env);
  if (change === null) return;
  const what = describeSuiteChange(change, m);
  if (!testsChanged(change)) return notes(what);
  if (!force)
    throw new CapiError(
      `--resume: ${what}; a resume runs the tests as they were split at launch: --force resumes with them anyway, or capi-launch ${shellQuote(m.suite.file)} starts a run of the suite as it is now`,
      ExitCode.badInput,
    );
  notes(`--force: ${what}; resuming with the tests as they were split at launch`);
}

export async function resumeRun(
  runDir: string,
  method: Method | null,
  env: NodeJS.ProcessEnv = process.env,
  notes: (t: string) => void = () => {},
  execArgs: string[] = [],
  /** `--stall-timeout` given again: replaces the stored one. */
  stallTimeoutS: number | null = null,
  /** `--force`: resume against another base URL than the journals', or a changed suite (capi-exec gets --force too). */
  force = false,
  changes: ResumeChanges = {},
): Promise<Launched> {
  const entry = (await listRuns(dirname(runDir))).find((e) => resolve(e.dir) === resolve(runDir));
  if (!entry) throw new CapiError(`${runDir}: not a run folder`, ExitCode.badInput);
  await refuseCleaned(runDir, '--resume');
  const stale = await clearStale(entry, true);
  if (stale) notes(stale);
  if (entry.alive)
    throw new CapiError(
      `run ${entry.manifest.id} is still running (pid ${entry.pid}): nothing to resume`,
      ExitCode.badInput,
    );
  const m = entry.manifest;
  const nextArgs = overrideExecArgs(m.options.execArgs, execArgs);
  // the environment of this resume is the one the workers get; a run without its batch
  // index is the supervisor's to report (it fails the run, saying so)
  const index = await readBatchIndex(runDir).catch(() => null);
  if (index) await refuseMissingEnv({ runDir, index, suite: m.suite.file, execArgs: nextArgs, env, notes });
  // before anything is changed: a refused resume leaves the run as it was
  await checkSuite(runDir, m, env, force, notes);
  if (await checkResumeBaseUrl(runDir, m.id, effectiveBaseUrl(nextArgs, env), force)) {
    nextArgs.push('--force');
    notes(`--force: the journals' results from another base URL stay; capi-exec is given --force`);
  }
  if (m.state === 'completed' && !(await releaseUnfinished(runDir)).length)
    notes(`run ${m.id} had completed; resuming only re-checks it and merges again`);
  const chosen: Method = method ?? (m.method === 'foreground' || m.method === 'exec' ? 'nohup' : m.method);
  checkMethod(chosen, env);
  const session = chosen === 'tmux' || chosen === 'screen' ? m.id : null;
  if (session && sessionExists(chosen, session, env)) {
    // left by a supervisor that died (its log windows outlive it): no one else uses the name
    closeSession({ method: chosen, session }, env);
    notes(`closed the leftover ${chosen} session ${session}`);
  }
  // `created` again: the run waits for a supervisor, which moves it to `running`.
  if (execArgs.length > 0) notes(`capi-exec flags for the rest of the run: ${showExecArgs(execArgs)}`);
  await applyChanges(runDir, changes, notes);
  const next = await updateManifest(runDir, {
    options: {
      ...(await readManifest(runDir)).options,
      execArgs: nextArgs,
      ...(stallTimeoutS !== null ? { stallTimeoutS } : {}),
      ...(changes.maxRestarts !== undefined ? { maxRestarts: changes.maxRestarts } : {}),
      ...(changes.onFinish !== undefined ? { onFinish: changes.onFinish } : {}),
    },
    ...(changes.parallel !== undefined ? { parallel: changes.parallel } : {}),
    method: chosen,
    session,
    state: 'created',
    verdict: null,
    finished: null,
    stopSignal: null,
  });
  if (chosen === 'foreground')
    return { runDir, manifest: next, exitCode: await superviseRun(runDir, { env, echo: true }) };
  const supervisorPid = await startSupervisor(runDir, next, env);
  return { runDir, manifest: await readManifest(runDir), exitCode: null, supervisorPid };
}

/** `--rate`/`--concurrency` go to control.json (and run.json) as `--set` writes them; the rest to run.json. */
async function applyChanges(runDir: string, c: ResumeChanges, notes: (t: string) => void): Promise<void> {
  const live: { rate?: string | null; concurrency?: number } = {};
  if (c.rate !== undefined) live.rate = c.rate;
  if (c.concurrency !== undefined) live.concurrency = c.concurrency;
  if (Object.keys(live).length > 0) await changeControl(runDir, live);
  const given = Object.entries(c).map(([k, v]) => `${k} ${v === null ? 'none' : v}`);
  if (given.length > 0) notes(`for the rest of the run: ${given.join(', ')}`);
}
