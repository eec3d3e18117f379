import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, runPaths } from '@capi/core';
import { type Claim, claimNext, releaseClaim, writeClaim } from './claims.js';
import type { EarlyWorkers } from './early-workers.js';
import { batchReason } from './log-tail.js';
import type { Manifest } from './manifest.js';
import { signal } from './process.js';
import { journalCount } from './results.js';
import { appendLog } from './run-logger.js';
import { stallTimeoutMs, watchStall } from './stall.js';
import { stopGraceMs } from './stop-workers.js';
import { type RunWorkerSpec, startWorker, type Worker, type WorkerExit } from './worker.js';

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
  /** The run's workers' spec (worker.ts), built once when the supervisor takes the run. */
  workers: RunWorkerSpec;
  env: NodeJS.ProcessEnv;
  log: (t: string) => void;
  /**
   * Set by `halt`, never by hand: a stop or a failure; no batch starts, no process is
   * started. Checked again after every wait of a slot before it acts (fill: a claim's write).
   */
  stopping: boolean;
  /**
   * Set by `stopWorkers` as it lets go of the run (a failure; its grace over, the claims
   * released): a slot still under way then (a read or a write stuck on a slow disk) writes
   * and removes nothing in the run, whose claims may already be a resume's.
   */
  letGo: boolean;
  /** Aborted with `stopping`: every wait of the supervisor (a restart's back-off) ends at a stop. */
  halted: AbortController;
  /** A worker's capi-exec gave up (exit 3): no new batch is claimed; running ones finish. */
  gaveUp: boolean;
  live: Set<number>;
  /** Slots that still have a batch or may take one: they share `--rate` (control.json `workers`). */
  busySlots: number;
  shareWith: (slots: number) => Promise<void>;
  /** Where slots look for the next unclaimed batch: the batches before it are all claimed. */
  claimFrom: { next: number };
  /** `--hosts`: how a stop reaches the remote workers (remote-run.ts); no signal of this machine does. */
  onStop?: (() => void) | undefined;
  /** Processes started while the suite was split: a slot's first process, when there is one. */
  early: EarlyWorkers;
  /**
   * The ends of the slots' processes, each told to end (its stdin closed) once its slot is
   * out of batches: a slot returns when its batches have answered, and the supervisor
   * awaits these before it writes the run's end (finish.ts).
   */
  ending: Promise<unknown>[];
}

/** A claim written and remembered (not once the supervisor has let go of the run). */
async function keepClaim(s: Supervision, claim: Claim): Promise<void> {
  if (s.letGo) return;
  await writeClaim(s.runDir, claim);
  s.claims.set(claim.batch, { ...claim });
}

type Note = (t: string) => void;

/**
 * A worker slot: its number, its capi-exec process (kept from batch to batch while it
 * lives) and the batches it holds. `sent` are in the process's stdin in order: the first
 * runs, the next waits behind it, so the process goes from one batch to the next without
 * waiting for the supervisor's bookkeeping. capi-exec runs them one at a time, so a batch
 * behind one that has no answer yet has not started.
 */
interface Slot {
  worker: number;
  proc: Worker | null;
  sent: Array<{ claim: Claim; end: Promise<WorkerExit> }>;
  /** Claimed, to be sent: a batch to run again, or one its process died before starting. */
  waiting: Array<{ claim: Claim; fresh: boolean }>;
  note: Note;
}

/** Batches a slot's process holds at once: the one it runs and the next. */
const HELD = 2;

/**
 * The slot's process, started when it has none (the first batch, or the last one died).
 * Only ever called while the supervisor is not stopping (fill checks `s.stopping` after
 * each of its waits): nothing is started after a stop, not even to be killed at once.
 */
function workerOf(s: Supervision, slot: Slot): Worker {
  if (slot.proc?.alive()) return slot.proc;
  const early = slot.proc === null ? s.early.take(slot.worker) : null;
  const w = early ?? startWorker({ ...s.workers, worker: slot.worker });
  slot.proc = w;
  if (w.pid) {
    const pid = w.pid;
    s.live.add(pid);
    void w.exited.then(() => s.live.delete(pid));
  }
  // a backstop: no caller starts one while stopping; if one ever did, it is told at once
  if (s.stopping && w.pid) signal(w.pid, 'SIGTERM');
  slot.note(`worker ${slot.worker}: capi-exec ${early ? 'started during the split' : 'started'} (pid ${w.pid})`);
  return w;
}

/**
 * A claim that will not run now (a give-up came first): released, so a resume takes its
 * batch. Not once the supervisor has let go of the run: its claims were released then, and
 * the file may now be a resume's claim on the batch.
 */
async function releaseHeld(s: Supervision, claim: Claim): Promise<void> {
  if (s.letGo) return;
  await releaseClaim(s.runDir, claim.batch);
  s.claims.delete(claim.batch);
}

/**
 * Whether a slot that already has a batch running should claim the next one ahead. Only
 * while every slot at work can still find a batch: the last ones go to the slot that is
 * free first, not to the queue of a slot that has just started a batch while another
 * runs dry (with batches of 100 at 50 ms, a batch held back is 1.3 s at the end of the run).
 */
function worthClaimingAhead(s: Supervision, slot: Slot): boolean {
  if (slot.sent.length === 0) return true;
  const unclaimed = s.batches.length - s.claims.size;
  return unclaimed >= s.busySlots;
}

/** Keeps the slot's process holding `HELD` batches: batches to run again first, then new claims. */
async function fill(s: Supervision, slot: Slot): Promise<void> {
  while (slot.sent.length < HELD && !s.stopping) {
    const again = slot.waiting.shift();
    // after a give-up no batch starts that had not started (a restart still runs)
    if (again?.fresh && s.gaveUp) {
      await releaseHeld(s, again.claim);
      continue;
    }
    let claim = again?.claim ?? null;
    // a new claim is created holding its process's pid (one write): the process comes first
    let written = false;
    if (!claim) {
      if (s.gaveUp || !worthClaimingAhead(s, slot)) return;
      // this supervisor is claims/'s only writer: none left to claim, no process to start for one
      if (s.claims.size >= s.batches.length) return;
      const pid = workerOf(s, slot).pid;
      claim = await claimNext(s.runDir, s.batches, slot.worker, s.claimFrom, pid);
      if (!claim) return;
      // A stop, a failure or a give-up that came while the claim was written (a slow disk):
      // its batch does not start, and the claim, which this slot has just created (O_EXCL),
      // is removed so that a resume runs the batch.
      if (s.stopping || s.gaveUp) {
        await releaseClaim(s.runDir, claim.batch);
        slot.note(
          `worker ${slot.worker}: ${claim.batch} claimed as ${s.stopping ? 'the run stopped' : 'a batch was given up'}: released, not started`,
        );
        return;
      }
      written = true;
      s.claims.set(claim.batch, { ...claim });
    }
    // the process may have died while the claim was written: its batch goes to a fresh one
    const w = workerOf(s, slot);
    if (claim.pid !== w.pid) written = false;
    claim.pid = w.pid;
    slot.sent.push({ claim, end: w.run(claim.batch, s.counts.get(claim.batch) ?? null) });
    if (!written) await keepClaim(s, claim);
  }
}

/** Waits for the batch the slot's process runs; a stalled process is killed. */
async function awaitHead(
  s: Supervision,
  slot: Slot,
  head: Slot['sent'][number],
): Promise<{ exit: WorkerExit; how: string }> {
  const { claim } = head;
  const pid = claim.pid;
  if (!s.stopping) slot.note(`worker ${claim.worker}: ${claim.batch} started (pid ${pid})`);
  let stalled = false;
  const limitMs = stallTimeoutMs(s.manifest.options);
  const unwatch = watchStall(s.runDir, claim.batch, limitMs, () => {
    if (!pid) return;
    stalled = true;
    // SIGKILL: a frozen process (stopped, a blocked event loop) does not act on SIGTERM
    slot.note(
      `worker ${claim.worker}: ${claim.batch} stalled: no heartbeat or result for ${Math.round(limitMs / 1000)} s (--stall-timeout); killing pid ${pid}`,
    );
    signal(pid, 'SIGKILL');
  });
  const exit = await head.end;
  unwatch();
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

/**
 * A worker slot: claims batches one after another, each run to its end by the slot's
 * capi-exec; a batch whose worker died goes to a fresh one, up to `maxRestarts`.
 */
export async function runSlot(s: Supervision, worker: number): Promise<void> {
  const workerLog = appendLog(runPaths(s.runDir).logFile(`worker_${worker}`));
  const note = (t: string) => {
    s.log(t);
    workerLog.write(`${new Date().toISOString()} ${t}\n`);
  };
  const slot: Slot = { worker, proc: null, sent: [], waiting: [], note };
  try {
    for (;;) {
      await fill(s, slot);
      const head = slot.sent.shift();
      if (!head) break;
      const { claim } = head;
      const { exit, how } = await awaitHead(s, slot, head);
      if (slot.proc && !slot.proc.alive()) {
        // the batches behind it never started: they go to the next process as they are
        slot.waiting.unshift(...slot.sent.map((x) => ({ claim: x.claim, fresh: x.claim.restarts === 0 })));
        slot.sent = [];
      }
      if (exit.notStarted) {
        await releaseHeld(s, claim);
        continue;
      }
      if (s.stopping) {
        note(`worker ${claim.worker}: ${claim.batch} stopped (${how})`);
        continue;
      }
      // An answer of 0 or 1 from a live process: its next batch is claimed and sent before
      // this one's bookkeeping (journal read back, claim rewritten), so a process whose
      // queue ran dry (the tail of a run, where no batch is claimed ahead) waits only for
      // the claim. A give-up (3) or a crash is judged first: it decides what may start.
      if ((exit.code === 0 || exit.code === 1) && slot.proc?.alive()) await fill(s, slot);
      if (await batchEnded(s, claim, exit, how, note)) continue;
      // the back-off before the restart; a stop during it is acted on at once, not once it ends
      await sleep(Math.min(200 * claim.restarts, 2000), undefined, { signal: s.halted.signal }).catch(() => {});
      slot.waiting.unshift({ claim, fresh: false });
    }
    // out of batches (or stopped): its capi-exec ends when its stdin does, which is awaited
    // with the run's end (finish.ts), not here: every batch has answered, its journal is
    // whole, and the merge may read it while the process exits. On a failure the
    // supervisor stops every worker itself (stop-workers.ts), at once.
    if (slot.proc) s.ending.push(slot.proc.end(stopGraceMs(s.manifest.options.execArgs)));
  } finally {
    workerLog.close();
    // out of batches: the others take its share of the rate (the tail of a run); at a stop
    // there is no rate left to share, and after a let-go control.json may be a resume's
    s.busySlots--;
    if (!s.stopping) void s.shareWith(s.busySlots);
  }
}
