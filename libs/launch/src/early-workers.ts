import { stat, unlink } from 'node:fs/promises';
import { runPaths } from '@capi/core';
import { stopGraceMs } from './stop-workers.js';
import { type RunWorkerSpec, startWorker, type Worker } from './worker.js';

/**
 * Worker processes started while capi-split still splits the suite (a `--foreground`
 * launch), so that their node start-up (some 0.3 s of CPU each) overlaps the split instead
 * of following it. A `capi-exec --serve` process reads nothing of the run and sends no
 * request until the supervisor sends it a batch, and the supervisor only starts once the
 * whole suite is split and checked: a bad row still means exit 2 with nothing run.
 */
export interface EarlyWorkers {
  /** The spec they were started with (run-batch.ts starts a slot's later processes with it too); null: none started. */
  readonly spec: RunWorkerSpec | null;
  /** Slot K's process when it was started early and is still alive (each is given once). */
  take(worker: number): Worker | null;
  /**
   * Ends the processes of the slots above `keep` that no slot took (stdin closed: they exit
   * having run nothing), and awaits them: with `keep` 0, every one left.
   */
  end(keep?: number): Promise<void>;
}

/** No early workers: every slot starts its own. */
export const NO_EARLY_WORKERS: EarlyWorkers = { spec: null, take: () => null, end: async () => {} };

/**
 * A test row takes at least this many bytes of suite file (`T1,/a` and its newline is 6; real
 * rows are longer): the suite's size bounds its batches before capi-split has counted them,
 * so a small suite does not start workers it will never use.
 */
const MIN_ROW_BYTES = 16;

/** How many workers are worth starting before the split has counted the batches. */
export async function earlyWorkerCount(suite: string, parallel: number, batchSize: number): Promise<number> {
  const bytes = (await stat(suite).catch(() => null))?.size ?? 0;
  return Math.max(0, Math.min(parallel, Math.ceil(bytes / (MIN_ROW_BYTES * Math.max(1, batchSize)))));
}

/** Starts slots 1..count's capi-exec processes now. */
export function startEarlyWorkers(spec: RunWorkerSpec, count: number): EarlyWorkers {
  const waiting = new Map<number, Worker>();
  try {
    for (let worker = 1; worker <= count; worker++) waiting.set(worker, startWorker({ ...spec, worker }));
  } catch {
    // an early start is only a head start: a slot starts its own, and reports what fails then
  }
  return {
    spec,
    take(worker) {
      const w = waiting.get(worker) ?? null;
      waiting.delete(worker);
      return w?.alive() ? w : null;
    },
    async end(keep = 0) {
      const left = [...waiting].filter(([worker]) => worker > keep);
      for (const [worker] of left) waiting.delete(worker);
      await Promise.all(left.map(([, w]) => w.end(stopGraceMs(spec.execArgs))));
      // a worker that ran nothing and said nothing leaves no empty logs/worker_K.log behind
      await Promise.all(left.map(([worker]) => dropIfEmpty(runPaths(spec.runDir).logFile(`worker_${worker}`))));
    },
  };
}

async function dropIfEmpty(path: string): Promise<void> {
  const size = (await stat(path).catch(() => null))?.size;
  if (size === 0) await unlink(path).catch(() => {});
}
