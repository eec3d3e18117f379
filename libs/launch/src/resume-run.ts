import { dirname, resolve } from 'node:path';
import { CapiError, ExitCode, shellQuote } from '@capi/core';
import { checkResumeBaseUrl, effectiveBaseUrl } from './base-url.js';
import { changeControl } from './change-control.js';
import { readClaims, releaseUnfinished } from './claims.js';
import { type Method, readBatchIndex } from './create-run.js';
import { refuseMissingEnv } from './env-refs.js';
import { overrideExecArgs, showExecArgs } from './exec-flag-list.js';
import { holdingLaunchLock, type Launched } from './launch.js';
import { type Manifest, readManifest, updateManifest } from './manifest.js';
import { clearStale, listRuns, refuseCleaned } from './runs.js';
import { splitFlags } from './split-flags.js';
import { checkMethod, closeSession, sessionExists, startSupervisor } from './start.js';
import { describeSuiteChange, suiteChange, testsChanged } from './suite-change.js';
import { superviseHere } from './supervise.js';

export interface ResumeOptions {
  runDir: string;
  /** How the new supervisor runs; null: as before (a foreground run resumes by nohup). */
  method: Method | null;
  env?: NodeJS.ProcessEnv;
  notes?: (t: string) => void;
  /** capi-exec flags given again: they replace the stored ones (`overrideExecArgs`). */
  execArgs?: string[];
  /** `--stall-timeout` given again: replaces the stored one. */
  stallTimeoutS?: number | null;
  /** `--force`: resume against another base URL than the journals', or a changed suite (capi-exec gets --force too). */
  force?: boolean;
  changes?: ResumeChanges;
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
async function checkSuite(runDir: string, m: Manifest, o: ResumeOptions, notes: (t: string) => void) {
  const change = await suiteChange(runDir, m, o.env ?? process.env);
  if (change === null) return;
  const what = describeSuiteChange(change, m);
  if (!testsChanged(change)) return notes(what);
  if (!o.force)
    throw new CapiError(
      `--resume: ${what}; a resume runs the tests as they were split at launch: --force resumes with them anyway, or capi-launch ${[m.suite.file, ...splitFlags(m.options)].map(shellQuote).join(' ')} starts a run of the suite as it is now`,
      ExitCode.badInput,
    );
  notes(`--force: ${what}; resuming with the tests as they were split at launch`);
}

/**
 * Continues a stopped, crashed or interrupted run in its own folder, by the same or
 * another method. The supervisor runs only what has no final result in the journals.
 */
export async function resumeRun(o: ResumeOptions): Promise<Launched> {
  const notes = o.notes ?? (() => {});
  // Check and start under the runs folder's launch lock, until the new supervisor has
  // written its pid: of two resumes at one moment one starts, and the other then finds it
  // alive (without the lock both could find none and start one each).
  return holdingLaunchLock(dirname(o.runDir), notes, () => checkAndResume(o, notes));
}

async function checkAndResume(
  o: ResumeOptions,
  notes: (t: string) => void,
): Promise<Launched & { foreground?: Promise<number> }> {
  const { runDir, force = false, changes = {} } = o;
  const env = o.env ?? process.env;
  const execArgs = o.execArgs ?? [];
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
  if (index)
    await refuseMissingEnv({
      runDir,
      index,
      suite: m.suite.file,
      execArgs: nextArgs,
      env,
      notes,
      // split from a suite with no env marks (create-run.ts): no batch to read
      batchesMayUseEnv: m.suite.envMarks !== false,
    });
  // before anything is changed: a refused resume leaves the run as it was
  await checkSuite(runDir, m, o, notes);
  if (await checkResumeBaseUrl(runDir, m.id, effectiveBaseUrl(nextArgs, env), force)) {
    nextArgs.push('--force');
    notes(`--force: the journals' results from another base URL stay; capi-exec is given --force`);
  }
  if (m.state === 'completed' && !(await releaseUnfinished(runDir, await readClaims(runDir))).length)
    notes(`run ${m.id} had completed; resuming only re-checks it and merges again`);
  const chosen: Method = o.method ?? (m.method === 'foreground' || m.method === 'exec' ? 'nohup' : m.method);
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
      ...(o.stallTimeoutS != null ? { stallTimeoutS: o.stallTimeoutS } : {}),
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
  if (chosen === 'foreground') {
    const { run } = await superviseHere(runDir, { env, echo: true });
    return { runDir, manifest: next, exitCode: null, foreground: run };
  }
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
