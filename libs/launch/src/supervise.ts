import { appendFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CapiError,
  checkRunOwner,
  ExitCode,
  FILE_MODE,
  fsReason,
  isErrnoException,
  isRunSupervisor,
  runPaths,
} from '@capi/core';
import {
  type Claim,
  claimNext,
  liveWorkers,
  readClaims,
  releaseStopped,
  releaseUnfinished,
  writeClaim,
} from './claims.js';
import { updateControl } from './control-file.js';
import { readBatchIndex } from './create-run.js';
import { finishRun } from './finish.js';
import { batchReason } from './log-tail.js';
import { type Manifest, updateManifest } from './manifest.js';
import { isWorkerOf, signal, waitGone } from './process.js';
import { journalCount } from './results.js';
import { stallTimeoutMs, watchStall } from './stall.js';
import { execArg, plural, shellQuote, toolBin } from './tools.js';
import { startWorker, type WorkerExit } from './worker.js';

export interface SuperviseOptions {
  env?: NodeJS.ProcessEnv;
  /** Also print the log lines on stderr (foreground, screen, tmux). */
  echo?: boolean;
  /** Called once this process is the run's recorded supervisor (its pid file written). */
  onTaken?: () => void;
}

export interface RunLogger {
  (text: string): void;
  /** From now on capi.log only: the terminal is gone (SIGHUP), or writing to it failed. */
  mute(): void;
}

/**
 * The supervisor's log: logs/capi.log, and stderr when someone is looking. A closed
 * terminal makes writes to stderr fail (EIO, EPIPE); unhandled, that error would kill the
 * supervisor in the middle of its stop, so a failed write only turns the echo off.
 */
export function runLogger(runDir: string, echo: boolean): RunLogger {
  const file = runPaths(runDir).mainLog;
  let toStderr = echo;
  if (echo) process.stderr.on('error', () => (toStderr = false));
  const log = (text: string) => {
    const line = `${new Date().toISOString()} ${text}\n`;
    try {
      appendFileSync(file, line, { mode: FILE_MODE });
    } catch {
      // a full disk must not turn a log line into the supervisor's death; stderr may still be read
      if (!echo) process.stderr.write(line);
    }
    if (toStderr) process.stderr.write(line);
  };
  log.mute = () => {
    toStderr = false;
  };
  return log;
}

/** An error in one line: `cannot write PATH: no space left on the device` for disk trouble. */
export function failureText(err: unknown): string {
  if (err instanceof CapiError) return err.message;
  if (isErrnoException(err) && err.syscall && err.path)
    return `cannot ${err.syscall} ${err.path}: ${fsReason(err.code)}`;
  return err instanceof Error ? err.message : String(err);
}

export async function readPid(runDir: string): Promise<number | null> {
  try {
    const n = Number.parseInt(await readFile(runPaths(runDir).pidFile, 'utf8'), 10);
    return Number.isSafeInteger(n) ? n : null;
  } catch {
    return null;
  }
}

/**
 * Workers left running by a supervisor that was killed: stopped before anyone resumes.
 * Only processes that are workers of this run (`liveWorkers`: the exact `--run-id ID`
 * pair in their argv) are signalled, never a reused pid or a `tail -f` of its logs.
 */
export async function stopOrphans(runDir: string, runId: string, log: (t: string) => void): Promise<void> {
  const pids = await liveWorkers(runDir, runId);
  if (pids.length === 0) return;
  log(`stopping ${pids.length} worker(s) left by the previous supervisor: ${pids.join(', ')}`);
  for (const pid of pids) if (isWorkerOf(pid, runId)) signal(pid, 'SIGTERM');
  if (!(await waitGone(pids, 15_000, runId)))
    for (const pid of pids) if (isWorkerOf(pid, runId)) signal(pid, 'SIGKILL');
  await waitGone(pids, 5_000, runId);
}

interface Ctx {
  runDir: string;
  manifest: Manifest;
  batches: string[];
  /** Tests per batch, from batches/index.json. */
  counts: Map<string, number>;
  execBin: string;
  env: NodeJS.ProcessEnv;
  log: (t: string) => void;
  stopping: boolean;
  /** A worker's capi-exec gave up (exit 3): no new batch is claimed; running ones finish. */
  gaveUp: boolean;
  live: Set<number>;
  /** Slots that still have a batch or may take one: they share `--rate` (control.json `workers`). */
  busySlots: number;
  shareWith: (slots: number) => Promise<void>;
}

/** Runs one batch to its end, replacing the worker when it dies, up to `maxRestarts`. */
async function runBatch(ctx: Ctx, claim: Claim): Promise<void> {
  const { manifest } = ctx;
  const workerLog = runPaths(ctx.runDir).logFile(`worker_${claim.worker}`);
  const note = (t: string) => {
    ctx.log(t);
    appendFileSync(workerLog, `${new Date().toISOString()} ${t}\n`, { mode: FILE_MODE });
  };
  while (!ctx.stopping) {
    const w = startWorker({
      runDir: ctx.runDir,
      runId: manifest.id,
      batch: claim.batch,
      worker: claim.worker,
      execBin: ctx.execBin,
      execArgs: manifest.options.execArgs,
      concurrency: manifest.options.concurrency,
      total: ctx.counts.get(claim.batch) ?? null,
      env: ctx.env,
    });
    if (w.pid) ctx.live.add(w.pid);
    // a stop that came while this worker was starting has not reached it
    if (ctx.stopping && w.pid) signal(w.pid, 'SIGTERM');
    await writeClaim(ctx.runDir, { ...claim, pid: w.pid });
    note(`worker ${claim.worker}: ${claim.batch} started (pid ${w.pid})`);
    let stalled = false;
    const limitMs = stallTimeoutMs(manifest.options);
    const unwatch = watchStall(ctx.runDir, claim.batch, limitMs, () => {
      if (!w.pid) return;
      stalled = true;
      // SIGKILL: a frozen process (stopped, a blocked event loop) does not act on SIGTERM
      note(
        `worker ${claim.worker}: ${claim.batch} stalled: no heartbeat or result for ${Math.round(limitMs / 1000)} s (--stall-timeout); killing pid ${w.pid}`,
      );
      signal(w.pid, 'SIGKILL');
    });
    const exit: WorkerExit = await w.exited;
    unwatch();
    if (w.pid) ctx.live.delete(w.pid);
    const how = stalled ? 'stalled, killed' : exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
    if (ctx.stopping) return note(`worker ${claim.worker}: ${claim.batch} stopped (${how})`);
    // exit 1 is also what node gives an uncaught crash: done only if the journal is whole
    const expected = ctx.counts.get(claim.batch) ?? 0;
    const gaveUp = exit.code === ExitCode.cannotRun;
    const have = exit.code === 0 || exit.code === 1 || gaveUp ? await journalCount(ctx.runDir, claim.batch) : -1;
    if (have >= expected) {
      await writeClaim(ctx.runDir, { ...claim, pid: w.pid, state: 'done', exitCode: exit.code });
      return note(`worker ${claim.worker}: ${claim.batch} finished (${how})`);
    }
    if (gaveUp) {
      // not a crash: capi-exec stopped on purpose (--max-errors tripped, target unreachable);
      // a restart would only burn the rest of the suite against the same dead target
      ctx.gaveUp = true;
      await writeClaim(ctx.runDir, { ...claim, pid: w.pid, state: 'failed', exitCode: exit.code });
      const said = await batchReason(runPaths(ctx.runDir).logFile(claim.batch));
      return note(
        `worker ${claim.worker}: ${claim.batch} given up: capi-exec exit 3${said ? `: "${said}"` : ''} (${runPaths(ctx.runDir).logFile(claim.batch)}) with ${have}/${expected} results; no new batches are started, running ones finish`,
      );
    }
    if (have >= 0) note(`worker ${claim.worker}: ${claim.batch} ended (${how}) with ${have}/${expected} results`);
    claim.restarts++;
    if (exit.code === ExitCode.badInput || claim.restarts > manifest.options.maxRestarts) {
      await writeClaim(ctx.runDir, { ...claim, pid: w.pid, state: 'failed', exitCode: exit.code });
      return note(`worker ${claim.worker}: ${claim.batch} given up after ${claim.restarts - 1} restart(s) (${how})`);
    }
    note(
      `worker ${claim.worker}: ${claim.batch} died (${how}); restart ${claim.restarts}/${manifest.options.maxRestarts}`,
    );
    await sleep(Math.min(200 * claim.restarts, 2000));
  }
}

async function runSlot(ctx: Ctx, worker: number): Promise<void> {
  try {
    while (!ctx.stopping && !ctx.gaveUp) {
      const claim = await claimNext(ctx.runDir, ctx.batches, worker);
      if (!claim) return;
      await runBatch(ctx, claim);
    }
  } finally {
    // out of batches: the others take its share of the rate (the tail of a run)
    ctx.busySlots--;
    void ctx.shareWith(ctx.busySlots);
  }
}

/**
 * Keeps control.json `workers` equal to the slots at work, so that `--rate` stays the
 * whole run's rate when fewer batches than `--parallel` are left: each capi-exec takes
 * `rate / workers` and re-reads the file every second. Writes are queued (never two at
 * once) and made only when the number changes; `--pause`/`--set` write the same file, so
 * each write is a read-modify-write under control.json.lock (control-file.ts).
 */
function controlSharer(runDir: string, log: (t: string) => void): (slots: number) => Promise<void> {
  let queue = Promise.resolve();
  let written = -1;
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

/** How long stopping workers may take: capi-exec's `--grace` (default 10 s) and 10 s more, as `--stop` waits. */
export function stopGraceMs(execArgs: string[]): number {
  const grace = Number(execArg(execArgs, '--grace') ?? 10_000);
  return (Number.isFinite(grace) ? grace : 10_000) + 10_000;
}

/**
 * The supervisor cannot go on: its workers are stopped, and waited for, before it lets go
 * of the run (the pid file): SIGTERM (in-flight tests finish, journals are flushed), the
 * slots' own ends awaited up to the grace, then SIGKILL for what is left. Then the claims
 * of the ended workers are released, so no batch looks taken by a worker that is gone.
 */
async function stopWorkers(ctx: Ctx, slots: Promise<void>[]): Promise<void> {
  const id = ctx.manifest.id;
  ctx.stopping = true;
  // a worker started just before the failure may have no slot awaiting it: ctx.live has it
  const pids = [...ctx.live];
  for (const pid of pids) signal(pid, 'SIGTERM');
  const graceMs = stopGraceMs(ctx.manifest.options.execArgs);
  const deadline = Date.now() + graceMs;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(slots),
    new Promise((resolve) => {
      timer = setTimeout(resolve, graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (!(await waitGone(pids, Math.max(0, deadline - Date.now()), id))) {
    const left = pids.filter((p) => isWorkerOf(p, id));
    ctx.log(`workers did not stop within ${Math.round(graceMs / 1000)} s: killing ${left.join(', ')} with SIGKILL`);
    for (const pid of left) signal(pid, 'SIGKILL');
    await waitGone(left, 5_000, id);
  }
  try {
    const released = await releaseStopped(ctx.runDir, (pid) => isWorkerOf(pid, id));
    if (released.length > 0) ctx.log(`released the claims of ${released.join(', ')} for the resume`);
  } catch (e) {
    ctx.log(`could not release the claims: ${failureText(e)}`);
  }
}

/** Takes the run: refuses when another supervisor is alive, records this one's pid. */
async function takeRun(runDir: string): Promise<Manifest> {
  const other = await readPid(runDir);
  if (other && other !== process.pid && isRunSupervisor(other, runDir))
    throw new CapiError(`${basename(runDir)} is already supervised by pid ${other}`, ExitCode.badInput);
  await writeFile(runPaths(runDir).pidFile, `${process.pid}\n`, { mode: FILE_MODE });
  return updateManifest(runDir, { pid: process.pid, state: 'running', verdict: null, finished: null });
}

/**
 * The supervisor: `--parallel` workers claim batches and run capi-exec on them until
 * every batch has ended, then capi-merge gives the verdict. Returns the exit code
 * (0 passed, 1 failed tests, 3 a batch given up, 143/130 stopped).
 */
export async function superviseRun(runDir: string, o: SuperviseOptions = {}): Promise<number> {
  const env = o.env ?? process.env;
  const log = runLogger(runDir, o.echo ?? false);
  const execBin = toolBin('exec', env);
  checkRunOwner(runDir);
  const manifest = await takeRun(runDir);
  o.onTaken?.();
  const ctx: Ctx = {
    runDir,
    manifest,
    batches: [],
    counts: new Map(),
    execBin,
    env,
    log,
    stopping: false,
    gaveUp: false,
    live: new Set(),
    busySlots: 0,
    shareWith: controlSharer(runDir, log),
  };
  let stopSignal: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopSignal) return;
    stopSignal = sig;
    // Already stopping its workers (a failure): a second SIGTERM would make capi-exec quit at once.
    if (ctx.stopping) return;
    ctx.stopping = true;
    // SIGHUP: the terminal was closed; what follows goes to capi.log alone
    if (sig === 'SIGHUP') log.mute();
    log(
      `${sig}: stopping ${ctx.live.size} worker(s); in-flight tests finish${sig === 'SIGHUP' ? ' (terminal closed: logging to capi.log only)' : ''}`,
    );
    for (const pid of ctx.live) signal(pid, 'SIGTERM');
  };
  let slots: Promise<void>[] = [];
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    await stopOrphans(runDir, manifest.id, log);
    const released = await releaseUnfinished(runDir);
    if (released.length > 0) log(`resuming ${released.length} unfinished batch(es) from their journals`);
    const index = await readBatchIndex(runDir);
    ctx.batches = index.batches.map((b) => b.batch);
    ctx.counts = new Map(index.batches.map((b) => [b.batch, b.count]));
    log(
      `run ${manifest.id}: ${plural(manifest.total, 'test')} in ${plural(ctx.batches.length, 'batch', 'batches')}, ${plural(manifest.parallel, 'worker')}`,
    );
    const done = new Set((await readClaims(runDir)).filter((c) => c.state === 'done').map((c) => c.batch));
    ctx.busySlots = Math.min(manifest.parallel, ctx.batches.filter((b) => !done.has(b)).length);
    await ctx.shareWith(ctx.busySlots);
    slots = Array.from({ length: ctx.busySlots }, (_, k) => runSlot(ctx, k + 1));
    await Promise.all(slots);
    return await finishRun(runDir, { stopSignal, batches: ctx.batches, env, log });
  } catch (err) {
    // the run cannot go on (disk full, a folder removed): say so in run.json, not only in the log
    const why = failureText(err);
    log(`supervisor failed: ${why}`);
    await stopWorkers(ctx, slots);
    await updateManifest(runDir, { state: 'failed', pid: null, finished: new Date().toISOString() }).catch((e) =>
      log(`could not record state failed in run.json: ${failureText(e)}`),
    );
    log(`resume it once the cause is fixed: capi-launch --resume ${shellQuote(runDir)}`);
    throw new CapiError(`supervisor failed: ${why}`, ExitCode.cannotRun);
  } finally {
    for (const s of signals) process.off(s, onSignal);
    if ((await readPid(runDir)) === process.pid) await rm(runPaths(runDir).pidFile, { force: true });
  }
}
