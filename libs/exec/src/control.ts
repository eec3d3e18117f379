import {
  type ControlFile,
  controlConcurrency,
  controlNotTaken,
  controlRate,
  parseRate,
  type RunControl,
  readRunControlSync,
  readRunManifest,
  sayOnChange,
  type TakenLimits,
  takeLimits,
} from '@capi/core';
import type { LiveState } from './live-state.js';
import type { RateLimiter } from './rate-limiter.js';

/**
 * What control.json (core `RunControl`, docs/run-folder.md) asks of this worker. `rate` is
 * the whole run's and is shared by the `workers` live workers; `concurrency` is this
 * worker's. A `rate` or `concurrency` capi-exec does not take (core's `controlRate`,
 * `controlConcurrency`: a hand edit) leaves the one it last took (`ControlMemory`), and so
 * does a `workers` that is not a whole number of 1 or more; a file that is missing or cannot
 * be parsed changes nothing.
 */
export interface ControlEffect {
  paused: boolean;
  /**
   * Starts per second for this worker; null: this capi-exec's own `--rate` (a launched
   * worker has none, so no limit, as `capi-launch --set rate=none` means).
   */
  rate: number | null;
  /** null: this capi-exec's own `--concurrency`. */
  concurrency: number | null;
  /** Stop as on SIGTERM (`stop: true`). */
  stop: boolean;
  /** The fields not taken, as a line for people (null: all taken). */
  refused: string | null;
}

/**
 * The limits a capi-exec last took from control.json, kept from read to read and, under
 * `--serve`, from batch to batch: a value it does not take keeps these (core's `TakenLimits`,
 * plus `concurrency`). `rate` may start as run.json's copy (a launched worker,
 * `recordedControl`), so that a worker that starts while the file is bad runs at the rate
 * capi-launch last took, not without a limit; `workers` as run.json's `parallel` (the most a
 * run has): a bad `workers` read as 1 gave each worker the whole run's rate.
 */
export interface ControlMemory extends TakenLimits {
  concurrency?: number | null;
}

export function controlEffect(c: Partial<RunControl>, memory: ControlMemory = {}): ControlEffect {
  // core's one rule for control.json's limits, which run.json's copy follows too
  const { rate: rateTaken, workers: workersTaken } = takeLimits(c, memory);
  const workers = memory.workers ?? 1;
  // a file with no `workers` and nothing to keep (a bare capi-exec's own control file): one
  const badWorkers = workersTaken === undefined && (c.workers !== undefined || memory.workers !== undefined);
  const concurrencyTaken = controlConcurrency(c);
  if (concurrencyTaken !== undefined) memory.concurrency = concurrencyTaken;
  const text = memory.rate ?? null;
  return {
    paused: c.paused === true,
    rate: text === null ? null : parseRate(text) / workers,
    concurrency: memory.concurrency ?? null,
    stop: c.stop === true,
    refused: refusedLine(c, rateTaken === undefined, concurrencyTaken === undefined, badWorkers, memory),
  };
}

function refusedLine(
  c: Partial<RunControl>,
  badRate: boolean,
  badConcurrency: boolean,
  badWorkers: boolean,
  m: ControlMemory,
) {
  const parts: string[] = [];
  if (badRate) {
    const kept =
      m.rate === undefined
        ? "this capi-exec's own --rate"
        : m.rate === null
          ? `no limit (the last rate taken, from ${m.rateFrom})`
          : `${m.rate} (the last rate taken, from ${m.rateFrom})`;
    parts.push(`${controlNotTaken('rate', c)}: running at ${kept}`);
  }
  if (badConcurrency) {
    const kept =
      m.concurrency === undefined || m.concurrency === null
        ? "this capi-exec's own --concurrency"
        : `${m.concurrency} (the last taken)`;
    parts.push(`${controlNotTaken('concurrency', c)}: ${kept}`);
  }
  if (badWorkers) {
    const kept = m.workers === undefined ? '1' : `${m.workers} (the last taken, from ${m.workersFrom})`;
    parts.push(`${controlNotTaken('workers', c)}: the rate is shared by ${kept}`);
  }
  return parts.length > 0 ? `control.json: ${parts.join('; ')}` : null;
}

/**
 * What a worker of a launched run (`--serve RUN`) starts its `ControlMemory` with, from
 * run.json (core `readRunManifest`): its rate (`options.rate`, the launch's `--rate` as
 * `--set rate=` last changed it: capi-launch copies only a rate capi-exec takes) and its
 * `parallel` (the most workers the run has, so the smallest share of the rate), so that a
 * worker that starts while control.json is bad runs neither without a limit nor with the
 * whole run's rate. Nothing when run.json cannot be read or holds no such value.
 */
export async function recordedControl(manifestPath: string): Promise<ControlMemory> {
  let m: Awaited<ReturnType<typeof readRunManifest>>;
  try {
    m = await readRunManifest(manifestPath);
  } catch {
    return {};
  }
  const memory: ControlMemory = {};
  const rate = controlRate({ rate: m.options.rate as string | null | undefined });
  if (rate !== undefined) Object.assign(memory, { rate, rateFrom: "run.json's options.rate" });
  if (m.parallel !== undefined) Object.assign(memory, { workers: m.parallel, workersFrom: "run.json's parallel" });
  return memory;
}

export interface ControlWatch {
  stop(): void;
  /** Reads the file now (also done every second). */
  poll(): Promise<void>;
}

export interface ControlWatchOptions {
  /** This capi-exec's own `--rate` (starts per second) and `--concurrency`. */
  defaults: { rate: number | null; concurrency: number };
  everyMs?: number;
  onStop?: () => void;
  /** What was last taken; shared by the batches of a `--serve` process. */
  memory?: ControlMemory;
  /** A line for people: a field not taken, once per change. */
  log?: (line: string) => void;
}

export function watchControl(
  path: string,
  live: LiveState,
  limiter: RateLimiter,
  { defaults, everyMs = 1000, onStop = () => {}, memory = {}, log = () => {} }: ControlWatchOptions,
): ControlWatch {
  let last = '';
  const poll = async () => {
    let file: ControlFile | null;
    try {
      // synchronous: a small file, read at every batch's start and 4 times a second
      file = readRunControlSync(path);
    } catch {
      file = null;
    }
    // missing, unreadable (a worker goes on at any cost), unchanged or not JSON: no change
    if (file === null || file.text === last || !('control' in file)) return;
    last = file.text;
    const e = controlEffect(file.control, memory);
    sayOnChange(memory, e.refused, log);
    live.paused = e.paused;
    live.concurrency = e.concurrency ?? defaults.concurrency;
    limiter.setRate(e.rate ?? defaults.rate);
    if (live.paused && live.state === 'running') live.state = 'paused';
    if (!live.paused && live.state === 'paused') live.state = 'running';
    live.wake();
    if (e.stop) onStop();
  };
  // Not unref'd: while paused, this timer is what keeps the process alive to be woken.
  const timer = setInterval(() => void poll(), everyMs);
  return {
    stop: () => clearInterval(timer),
    poll,
  };
}
