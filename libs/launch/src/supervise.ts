import { rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  CapiError,
  checkRunOwner,
  controlWorkers,
  ExitCode,
  FILE_MODE,
  isRunSupervisor,
  plural,
  readPidFile,
  runPaths,
  shellQuote,
} from '@capi/core';
import { readClaims, releaseUnfinished } from './claims.js';
import { updateControl } from './control-file.js';
import { readBatchIndex } from './create-run.js';
import { describeError } from './describe-error.js';
import { type EarlyWorkers, NO_EARLY_WORKERS } from './early-workers.js';
import { type FinishedRun, finishRun, reportFlags } from './finish.js';
import { holdingManifest, type Manifest, readControl, readManifest, updateManifest } from './manifest.js';
import { mergeAhead } from './merge-ahead.js';
import { signal } from './process.js';
import { superviseRemote } from './remote-run.js';
import { applyResumeControl, type ResumeTake, takeResume } from './resume-handoff.js';
import { runSlot, type Supervision } from './run-batch.js';
import { type RunLogger, runLogger } from './run-logger.js';
import { closeSession } from './start.js';
import { halt, stopOrphans, stopWorkers } from './stop-workers.js';
import { runWorkerSpec } from './worker.js';

export interface SuperviseOptions {
  env?: NodeJS.ProcessEnv;
  /** Also print the log lines on stderr (foreground, screen, tmux). */
  echo?: boolean;
  /** Called once this process is the run's recorded supervisor (its pid file written). */
  onTaken?: () => void;
  /** Worker processes the launch started while it split the suite (a foreground launch). */
  early?: EarlyWorkers;
  /** How the launch went, for the run's first log line (the split's time). */
  prepared?: string;
  /**
   * A resume's changes, applied as the run is taken: given here (a `--foreground` resume),
   * or `file`: taken from resume.json (`--supervise RUN --resumed`, resume-handoff.ts).
   */
  resume?: ResumeTake | 'file';
  /**
   * Started by a new launch (`--supervise RUN` without `--resumed`): takes the run only while
   * run.json still says `created`. One started by a capi-launch that was killed may start
   * late, after the run was resumed, stopped or pruned: it then leaves the run alone.
   */
  fresh?: boolean;
}

/**
 * Keeps control.json `workers` equal to the slots at work, so that `--rate` stays the
 * whole run's rate when fewer batches than `--parallel` are left: each capi-exec takes
 * `rate / workers` and re-reads the file every second. Writes are queued (never two at
 * once) and made only when the number changes; `--pause`/`--set` write the same file, so
 * each write is a read-modify-write under control.json.lock (control-file.ts).
 */
function controlSharer(runDir: string, log: (t: string) => void, now: number): (slots: number) => Promise<void> {
  let queue = Promise.resolve();
  // what control.json says as the run starts (it alone writes `workers`; --set keeps it):
  // a fresh run's already says --parallel, so the first share writes nothing
  let written = now;
  return (slots) => {
    queue = queue.then(async () => {
      if (slots < 1 || slots === written) return;
      try {
        await updateControl(runDir, (c) => ({ ...c, workers: slots }));
        written = slots;
      } catch (err) {
        log(`could not update control.json workers: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    return queue;
  };
}

/** control.json's `workers` as capi-exec takes it (core `controlWorkers`; -1: unreadable or not taken, so the first share writes it). */
async function workersNow(runDir: string): Promise<number> {
  try {
    return controlWorkers(await readControl(runDir)) ?? -1;
  } catch {
    return -1;
  }
}

/**
 * Takes the run: refuses when another supervisor is alive, records this one's pid. A
 * supervisor a resume started (`resume`) takes the resume's changes with it, by removing
 * resume.json (resume-handoff.ts): until then the run is as it was; if the resume gave up
 * first, the run is left alone. Its run.json is then written once, changes and state together.
 */
async function takeRun(
  runDir: string,
  resume: SuperviseOptions['resume'],
  fresh: boolean,
  onWait: () => void,
): Promise<Manifest> {
  const pidFile = runPaths(runDir).pidFile;
  // under run.json.lock: of two supervisors taking the run at one moment, the second finds
  // the first's pid; a new launch's looks at the state here, and again as it takes the run
  await holdingManifest(
    runDir,
    async () => {
      // supervisor.pid here; a live one named by run.json alone is refused below, as the run is taken
      const other = readPidFile(runDir);
      if (other && other !== process.pid && isRunSupervisor(other, runDir))
        throw new CapiError(`${basename(runDir)} is already supervised by pid ${other}`, ExitCode.badInput);
      if (fresh) refuseTaken(runDir, (await readManifest(runDir)).state);
      await writeFile(pidFile, `${process.pid}\n`, { mode: FILE_MODE });
    },
    { onWait },
  );
  let take: ResumeTake | null = null;
  if (resume === 'file') {
    take = await takeResume(runDir).catch(async (err) => {
      await rm(pidFile, { force: true });
      throw err;
    });
    if (!take) {
      if (readPidFile(runDir) === process.pid) await rm(pidFile, { force: true });
      throw new CapiError(
        `${basename(runDir)}: the capi-launch --resume that started this supervisor gave up before it took the run; the run is left as it was`,
      );
    }
  } else if (resume) take = resume;
  try {
    if (take) await applyResumeControl(runDir, take.control);
    return await updateManifest(runDir, (now) => {
      if (fresh) refuseTaken(runDir, now.state);
      // core's one pid rule: a live supervisor whose supervisor.pid was removed is named by
      // run.json alone (read here under run.json.lock, as the take's own read)
      if (now.pid && now.pid !== process.pid && isRunSupervisor(now.pid, runDir))
        throw new CapiError(`${basename(runDir)} is already supervised by pid ${now.pid}`, ExitCode.badInput);
      return {
        ...take?.manifest,
        pid: process.pid,
        state: 'running',
        verdict: null,
        finished: null,
        ...(take ? { stopSignal: null } : {}),
      };
    });
  } catch (err) {
    // not taken: run.json is as it was, and no pid file says otherwise
    if (readPidFile(runDir) === process.pid) await rm(pidFile, { force: true });
    throw err;
  }
}

/**
 * `superviseRun` in this process (a `--foreground` launch or resume), handed back once this
 * process is the run's recorded supervisor, or once the run ended before that: the caller
 * holds the runs folder's launch lock until then, not until the run's end. `run`: its exit code.
 */
export async function superviseHere(
  runDir: string,
  o: Omit<SuperviseOptions, 'onTaken'>,
): Promise<{ run: Promise<number> }> {
  let taken = () => {};
  const took = new Promise<void>((r) => {
    taken = r;
  });
  const run = superviseRun(runDir, { ...o, onTaken: () => taken() });
  await Promise.race([took, run.catch(() => {})]);
  return { run };
}

/** A new launch's supervisor takes only a run still `created` (SuperviseOptions `fresh`). */
function refuseTaken(runDir: string, state: string): void {
  if (state !== 'created')
    throw new CapiError(
      `${basename(runDir)}: run.json says ${state}, not created: this supervisor of a new launch started after the run was taken over (its capi-launch ended first); the run is left as it is`,
    );
}

/**
 * The supervisor: `--parallel` workers claim batches and run capi-exec on them until
 * every batch has ended, then capi-merge gives the verdict. Returns the exit code
 * (0 passed, 1 failed tests, 3 a batch given up, 143/130 stopped).
 */
/**
 * A supervisor that cannot take its run ends before it has logged anything: under nohup its
 * stderr is capi.log, but under tmux or screen (`echo`) it is the session's window, gone as
 * soon as the window closes. So the reason is written to capi.log too (stderr still gets it
 * from the caller): a launch waiting for the run shows capi.log's last lines (start.ts), and
 * a resume's run folder keeps it.
 */
function keepInLog(log: RunLogger, echo: boolean, err: unknown): void {
  if (!echo) return;
  log.mute();
  log(`the supervisor could not take the run: ${describeError(err)}`);
}

export async function superviseRun(runDir: string, o: SuperviseOptions = {}): Promise<number> {
  const env = o.env ?? process.env;
  const log = runLogger(runDir, o.echo ?? false);
  checkRunOwner(runDir);
  const manifest = await takeRun(runDir, o.resume, o.fresh === true, () =>
    log(`waiting for run.json.lock to take the run (another process is writing run.json)`),
  ).catch((err: unknown) => {
    keepInLog(log, o.echo === true, err);
    throw err;
  });
  o.onTaken?.();
  const ctx: Supervision = {
    runDir,
    manifest,
    batches: [],
    counts: new Map(),
    claims: new Map(),
    // a foreground launch built it for the workers it started during the split: the same run's
    workers: o.early?.spec ?? runWorkerSpec(runDir, manifest.id, manifest.options, env),
    env,
    log,
    stopping: false,
    letGo: false,
    halted: new AbortController(),
    gaveUp: false,
    live: new Set(),
    busySlots: 0,
    claimFrom: { next: 0 },
    shareWith: controlSharer(runDir, log, await workersNow(runDir)),
    early: o.early ?? NO_EARLY_WORKERS,
    ending: [],
  };
  // started with the slots (its early read takes each journal as its batch ends), told to go at the end (finish.ts)
  const merge = mergeAhead(runDir, reportFlags(runDir), env);
  let stopSignal: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopSignal) return;
    stopSignal = sig;
    // the merge has its own process group: a Ctrl-C or a closed terminal would not reach it
    if (sig !== 'SIGTERM') merge.interrupt(sig);
    // Already stopping its workers (a failure): a second SIGTERM would make capi-exec quit at once.
    if (ctx.stopping) return;
    halt(ctx);
    // SIGHUP: the terminal was closed; what follows goes to capi.log alone
    if (sig === 'SIGHUP') log.mute();
    log(
      `${sig}: stopping ${ctx.live.size} worker(s); in-flight tests finish${sig === 'SIGHUP' ? ' (terminal closed: logging to capi.log only)' : ''}`,
    );
    for (const pid of ctx.live) signal(pid, 'SIGTERM');
    ctx.onStop?.();
  };
  let slots: Promise<void>[] = [];
  let end: FinishedRun | undefined;
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    // claims/ is read once: from here on this supervisor is its only writer (ctx.claims)
    const claims = await readClaims(runDir);
    await stopOrphans(claims, manifest.id, log);
    const released = await releaseUnfinished(runDir, claims);
    for (const c of claims) if (c.state === 'done') ctx.claims.set(c.batch, c);
    if (released.length > 0) log(`resuming ${released.length} unfinished batch(es) from their journals`);
    const index = await readBatchIndex(runDir);
    ctx.batches = index.batches.map((b) => b.batch);
    ctx.counts = new Map(index.batches.map((b) => [b.batch, b.count]));
    log(
      `run ${manifest.id}: ${plural(manifest.total, 'test')} in ${plural(ctx.batches.length, 'batch', 'batches')}, ${plural(manifest.parallel, 'worker')}`,
    );
    if (o.prepared) log(o.prepared);
    const remote = manifest.options.remote;
    if (remote) {
      // the remote workers claim through GNU parallel: the merge starts at the end
      slots = [superviseRemote(ctx, remote)];
    } else {
      ctx.busySlots = Math.min(manifest.parallel, ctx.batches.filter((b) => !ctx.claims.has(b)).length);
      await ctx.shareWith(ctx.busySlots);
      slots = Array.from({ length: ctx.busySlots }, (_, k) => runSlot(ctx, k + 1));
      // After the slots' first processes: the merge's start-up comes after theirs. It
      // reads the batch files and each journal as its batch ends while the tests run, so
      // that after the last test it reads only the last batches' journals before writing
      // the reports (docs/capi-launch.md, "Supervision").
      if (!ctx.stopping) merge.start();
      // early workers of slots that have no batch to run end now; their ends are awaited with
      // the others' before run.json's end (a `void` here let the run end with them alive)
      ctx.ending.push(ctx.early.end(ctx.busySlots));
    }
    await Promise.all(slots);
    const claimsNow = [...ctx.claims.values()];
    end = await finishRun(runDir, {
      manifest,
      claims: claimsNow,
      stopSignal: () => stopSignal,
      batches: ctx.batches,
      env,
      log,
      mergeAhead: merge,
      // with the early workers no slot took (a stop before a slot's first batch): every
      // process of the run has ended before its end is written and the pid file goes
      workersEnded: Promise.all([...ctx.ending, ctx.early.end()]).then(() => {}),
    });
  } catch (err) {
    // the run cannot go on (disk full, a folder removed): say so in run.json, not only in the log
    const why = describeError(err);
    log(`supervisor failed: ${why}`);
    // --hosts: GNU parallel starts no new job and the remote workers are told to stop
    halt(ctx);
    ctx.onStop?.();
    await stopWorkers(ctx, slots);
    await updateManifest(runDir, { state: 'failed', pid: null, finished: new Date().toISOString() }).catch((e) =>
      log(`could not record state failed in run.json: ${describeError(e)}`),
    );
    log(`resume it once the cause is fixed: capi-launch --resume ${shellQuote(runDir)}`);
    throw new CapiError(`supervisor failed: ${why}`, ExitCode.cannotRun);
  } finally {
    // a failure, or a stop: no merge follows (after one, it has ended and this does nothing)
    merge.cancel();
    for (const s of signals) process.off(s, onSignal);
    if (readPidFile(runDir) === process.pid) await rm(runPaths(runDir).pidFile, { force: true });
    log.close();
  }
  // tmux keeps the session for its log windows: the supervisor closes it as it leaves
  const { manifest: last, code } = end as FinishedRun;
  closeSession(last, env);
  return code;
}
