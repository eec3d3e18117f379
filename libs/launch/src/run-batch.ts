import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, FILE_MODE, runPaths } from '@capi/core';
import { type Claim, claimNext, writeClaim } from './claims.js';
import { batchReason } from './log-tail.js';
import type { Manifest } from './manifest.js';
import { signal } from './process.js';
import { journalCount } from './results.js';
import { stallTimeoutMs, watchStall } from './stall.js';
import { startWorker, type WorkerExit } from './worker.js';

/** One supervisor pass: the run it holds and the state its worker slots share. */
export interface Supervision {
  runDir: string;
  manifest: Manifest;
  batches: string[];
  /** Tests per batch, from batches/index.json. */
  counts: Map<string, number>;
  /**
   * The run's claims as this supervisor last wrote them (read once when it took the run):
   * while it lives, no one else writes claims/, so the end of the run needs no re-read.
   */
  claims: Map<string, Claim>;
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
  /** `--hosts`: how a stop reaches the remote workers (remote-run.ts); no signal of this machine does. */
  onStop?: (() => void) | undefined;
}

/** A claim written and remembered. */
async function keepClaim(s: Supervision, claim: Claim): Promise<void> {
  await writeClaim(s.runDir, claim);
  s.claims.set(claim.batch, { ...claim });
}

type Note = (t: string) => void;

/** Starts capi-exec on the claim's batch and waits for its end; a stalled worker is killed. */
async function runWorker(s: Supervision, claim: Claim, note: Note): Promise<{ exit: WorkerExit; how: string }> {
  const { manifest } = s;
  const w = startWorker({
    runDir: s.runDir,
    runId: manifest.id,
    batch: claim.batch,
    worker: claim.worker,
    execBin: s.execBin,
    execArgs: manifest.options.execArgs,
    concurrency: manifest.options.concurrency,
    total: s.counts.get(claim.batch) ?? null,
    env: s.env,
  });
  if (w.pid) s.live.add(w.pid);
  // a stop that came while this worker was starting has not reached it
  if (s.stopping && w.pid) signal(w.pid, 'SIGTERM');
  claim.pid = w.pid;
  await keepClaim(s, claim);
  note(`worker ${claim.worker}: ${claim.batch} started (pid ${w.pid})`);
  let stalled = false;
  const limitMs = stallTimeoutMs(manifest.options);
  const unwatch = watchStall(s.runDir, claim.batch, limitMs, () => {
    if (!w.pid) return;
    stalled = true;
    // SIGKILL: a frozen process (stopped, a blocked event loop) does not act on SIGTERM
    note(
      `worker ${claim.worker}: ${claim.batch} stalled: no heartbeat or result for ${Math.round(limitMs / 1000)} s (--stall-timeout); killing pid ${w.pid}`,
    );
    signal(w.pid, 'SIGKILL');
  });
  const exit = await w.exited;
  unwatch();
  if (w.pid) s.live.delete(w.pid);
  const how = stalled ? 'stalled, killed' : exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
  return { exit, how };
}

/**
 * What a worker's end means for its batch: true when the batch has ended (done or given
 * up, the claim rewritten to say so), false when a fresh worker is to take it on.
 */
async function batchEnded(s: Supervision, claim: Claim, exit: WorkerExit, how: string, note: Note): Promise<boolean> {
  const end = (state: Claim['state']) => keepClaim(s, { ...claim, state, exitCode: exit.code });
  // exit 1 is also what node gives an uncaught crash: done only if the journal is whole
  const expected = s.counts.get(claim.batch) ?? 0;
  const gaveUp = exit.code === ExitCode.cannotRun;
  const have = exit.code === 0 || exit.code === 1 || gaveUp ? await journalCount(s.runDir, claim.batch) : -1;
  if (have >= expected) {
    await end('done');
    note(`worker ${claim.worker}: ${claim.batch} finished (${how})`);
    return true;
  }
  if (gaveUp) {
    // not a crash: capi-exec stopped on purpose (--max-errors tripped, target unreachable);
    // a restart would only burn the rest of the suite against the same dead target
    s.gaveUp = true;
    await end('failed');
    const log = runPaths(s.runDir).logFile(claim.batch);
    const said = await batchReason(log);
    note(
      `worker ${claim.worker}: ${claim.batch} given up: capi-exec exit 3${said ? `: "${said}"` : ''} (${log}) with ${have}/${expected} results; no new batches are started, running ones finish`,
    );
    return true;
  }
  if (have >= 0) note(`worker ${claim.worker}: ${claim.batch} ended (${how}) with ${have}/${expected} results`);
  claim.restarts++;
  const max = s.manifest.options.maxRestarts;
  if (exit.code === ExitCode.badInput || claim.restarts > max) {
    await end('failed');
    note(`worker ${claim.worker}: ${claim.batch} given up after ${claim.restarts - 1} restart(s) (${how})`);
    return true;
  }
  note(`worker ${claim.worker}: ${claim.batch} died (${how}); restart ${claim.restarts}/${max}`);
  return false;
}

/** Runs one batch to its end, replacing the worker when it dies, up to `maxRestarts`. */
async function runBatch(s: Supervision, claim: Claim): Promise<void> {
  const workerLog = runPaths(s.runDir).logFile(`worker_${claim.worker}`);
  const note = (t: string) => {
    s.log(t);
    appendFileSync(workerLog, `${new Date().toISOString()} ${t}\n`, { mode: FILE_MODE });
  };
  while (!s.stopping) {
    const { exit, how } = await runWorker(s, claim, note);
    if (s.stopping) return note(`worker ${claim.worker}: ${claim.batch} stopped (${how})`);
    if (await batchEnded(s, claim, exit, how, note)) return;
    await sleep(Math.min(200 * claim.restarts, 2000));
  }
}

/** A worker slot: claims batches one after another and runs each to its end. */
export async function runSlot(s: Supervision, worker: number): Promise<void> {
  try {
    while (!s.stopping && !s.gaveUp) {
      const claim = await claimNext(s.runDir, s.batches, worker);
      if (!claim) return;
      s.claims.set(claim.batch, { ...claim });
      await runBatch(s, claim);
    }
  } finally {
    // out of batches: the others take its share of the rate (the tail of a run)
    s.busySlots--;
    void s.shareWith(s.busySlots);
  }
}
