import { dirname, resolve } from 'node:path';
import { CapiError, ExitCode, shellQuote } from '@capi/core';
import { checkResumeBaseUrl, effectiveBaseUrl } from './base-url.js';
import { readClaims } from './claims.js';
import { type Method, readBatchIndex } from './create-run.js';
import { refuseMissingEnv } from './env-refs.js';
import { overrideExecArgs, showExecArgs } from './exec-flag-list.js';
import { holdingLaunchLock, type Launched } from './launch.js';
import { holdingManifest, type Manifest, readManifest, supervisorNow } from './manifest.js';
import { abandonResume, offerResume, type ResumeTake } from './resume-handoff.js';
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
  // a run.json damaged or edited by hand is named here (file and field, exit 2), not met as a
  // TypeError below, nor left out of the listing as no run
  await readManifest(runDir);
  const entry = (await listRuns(dirname(runDir))).find((e) => resolve(e.dir) === resolve(runDir));
  if (!entry) throw new CapiError(`${runDir}: not a run folder`, ExitCode.badInput);
  await refuseCleaned(runDir, '--resume');
  const stale = await clearStale(entry, true);
  if (stale) notes(stale);
  if (entry.alive) throw stillRunning(entry.manifest.id, entry.pid);
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
  // read only: the claims are released by the supervisor, once it has taken the run
  if (m.state === 'completed' && (await readClaims(runDir)).every((c) => c.state === 'done'))
    notes(`run ${m.id} had completed; resuming only re-checks it and merges again`);
  const chosen: Method = o.method ?? (m.method === 'foreground' || m.method === 'exec' ? 'nohup' : m.method);
  checkMethod(chosen, env);
  const session = chosen === 'tmux' || chosen === 'screen' ? m.id : null;
  if (session && sessionExists(chosen, session, env)) {
    await closeLeftover(runDir, chosen, session, env);
    notes(`closed the leftover ${chosen} session ${session}`);
  }
  if (execArgs.length > 0) notes(`capi-exec flags for the rest of the run: ${showExecArgs(execArgs)}`);
  // Nothing of run.json or control.json is written here: the new supervisor applies these
  // changes as it takes the run (resume-handoff.ts), so a supervisor that never starts, or
  // a capi-launch killed before it started one, leaves the run as it was (its state,
  // verdict and finish), not `created` with no one to move it on.
  const take = resumeTake(m, changes, nextArgs, o.stallTimeoutS, chosen, session, notes);
  const next: Manifest = { ...m, ...take.manifest };
  if (chosen === 'foreground') {
    // a resume.json left by a capi-launch killed as it started its supervisor: given up,
    // so that supervisor, if it is still starting, leaves the run to this one
    await abandonResume(runDir);
    const { run } = await superviseHere(runDir, { env, echo: true, resume: take });
    return { runDir, manifest: await readManifest(runDir).catch(() => next), exitCode: null, foreground: run };
  }
  const before = await readManifest(runDir);
  await offerResume(runDir, take);
  const supervisorPid = await startSupervisor(runDir, next, env, before);
  return { runDir, manifest: await readManifest(runDir), exitCode: null, supervisorPid };
}

/**
 * A tmux or screen session named as the run, left by a supervisor that died (its log windows
 * outlive it): no one else uses the name, so it is closed. Decided again holding
 * run.json.lock, under which a supervisor takes a run: the checks since the listing's look
 * (a fresh split of the suite among them) take a while, and a supervisor that has taken the
 * run meanwhile (one a killed `--resume` started) runs in that session; it is refused then
 * as any live run is, its session kept.
 */
async function closeLeftover(runDir: string, method: Method, session: string, env: NodeJS.ProcessEnv): Promise<void> {
  await holdingManifest(runDir, async () => {
    const now = await readManifest(runDir);
    const { alive, pid } = supervisorNow(runDir, now);
    if (alive) throw stillRunning(now.id, pid);
    closeSession({ method, session }, env);
  });
}

const stillRunning = (id: string, pid: number | null) =>
  new CapiError(`run ${id} is still running (pid ${pid}): nothing to resume`, ExitCode.badInput);

/**
 * What the resume changes: run.json's options, parallel, method and session, and
 * `--rate`/`--concurrency` for control.json (and run.json `options`, as `--set` writes them).
 */
function resumeTake(
  m: Manifest,
  c: ResumeChanges,
  execArgs: string[],
  stallTimeoutS: number | null | undefined,
  method: Method,
  session: string | null,
  notes: (t: string) => void,
): ResumeTake {
  const control: ResumeTake['control'] = {};
  if (c.rate !== undefined) control.rate = c.rate;
  if (c.concurrency !== undefined) control.concurrency = c.concurrency;
  const given = Object.entries(c).map(([k, v]) => `${k} ${v === null ? 'none' : v}`);
  if (given.length > 0) notes(`for the rest of the run: ${given.join(', ')}`);
  return {
    manifest: {
      options: {
        ...m.options,
        ...control,
        execArgs,
        ...(stallTimeoutS != null ? { stallTimeoutS } : {}),
        ...(c.maxRestarts !== undefined ? { maxRestarts: c.maxRestarts } : {}),
        ...(c.onFinish !== undefined ? { onFinish: c.onFinish } : {}),
      },
      ...(c.parallel !== undefined ? { parallel: c.parallel } : {}),
      method,
      session,
    },
    control,
  };
}
