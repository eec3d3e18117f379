import { watch as chokidarWatch, type FSWatcher } from 'chokidar';
import { createRunReader, type RunReader } from './run-reader.js';
import { type RunState, recordSample, totalCounts } from './run-state.js';
import { classify, type WatchTarget } from './watch-target.js';

/**
 * Keeps a RunState up to date while the run goes on. chokidar only marks files dirty;
 * the files are read at most once per tick, so a run that appends thousands of lines a
 * second costs a few reads a second, not one per line.
 */
export interface RunWatch {
  readonly state: RunState;
  /** Reads every file again now (before a final verdict, after a stop request). */
  rescan(): Promise<void>;
  close(): Promise<void>;
}

export interface RunWatchOptions {
  /** How often changed files are read and `onTick` runs. */
  tickMs?: number;
  /** How often every file is read even without an event, in case one was missed. */
  sweepMs?: number;
  /** How often pids are checked for DEAD, without any file event. */
  aliveMs?: number;
  /** Called after every tick with whether anything was read. */
  onTick: (state: RunState, changed: boolean) => void;
  /** Called when a tick fails (a file turned unreadable); the watch goes on. */
  onError?: (err: unknown) => void;
  now?: () => number;
}

function createFileWatcher(
  target: WatchTarget,
  reader: RunReader,
  onPath: (p: string) => void,
  onDir: () => void,
): FSWatcher {
  const watchedDirs = new Set(reader.watchDirs);
  const watcher = chokidarWatch(target.kind === 'run' ? target.dir : target.dirs, {
    ignoreInitial: true,
    depth: target.kind === 'run' ? 1 : 0,
    // v4+ has no globs: filter here so batches/*.ndjson, claims/ and report/ cost nothing.
    // Journals are left out too: every append would cost a stat and a readdir of results/;
    // they are tailed on the clock instead (RunReader.tailJournals).
    ignored: (path) => {
      if (watchedDirs.has(path)) return false;
      const role = classify(target, path)?.role;
      return role === undefined || role === 'journal';
    },
  });
  for (const event of ['add', 'change', 'unlink'] as const) watcher.on(event, onPath);
  // A folder made after the start (status/, logs/) may hold files written before its
  // own watch began: read everything once more.
  watcher.on('addDir', onDir);
  watcher.on('error', () => {
    // A folder removed under the watcher: the periodic sweep notices what matters.
  });
  return watcher;
}

/**
 * chokidar announces a new folder (addDir) before it lists it and only then watches it: a
 * file written into it between the two (status/ and its first heartbeat, made together
 * when a run begins) gets no event at all. So the sweep that follows a new folder is done
 * twice: at the next tick, for the files already there, and this long after, for one
 * written while chokidar was still setting up; the slow sweep remains the last net.
 */
export const LATE_FOLDER_SETTLE_MS = 1000;

export async function startRunWatch(target: WatchTarget, opts: RunWatchOptions): Promise<RunWatch> {
  const now = opts.now ?? Date.now;
  const tickMs = opts.tickMs ?? 250;
  const sweepMs = opts.sweepMs ?? 5000;
  const aliveMs = opts.aliveMs ?? 1000;
  const reader = createRunReader(target);
  let dirty = new Set<string>();
  let sweepSoon = false;
  /** When the sweep after a new folder is done again (LATE_FOLDER_SETTLE_MS). */
  let sweepAgainAt = Number.POSITIVE_INFINITY;
  const watcher = createFileWatcher(
    target,
    reader,
    (p) => dirty.add(p),
    () => {
      sweepSoon = true;
      sweepAgainAt = now() + LATE_FOLDER_SETTLE_MS;
    },
  );
  // Read only once the watcher is in place, so no change falls between the two.
  await new Promise<void>((resolve) => watcher.once('ready', resolve));
  await reader.readAll();
  recordSample(reader.state, now());
  let lastSweep = now();
  let lastAlive = now();
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  async function tick(): Promise<void> {
    const t = now();
    let changed = dirty.size > 0;
    if (sweepSoon || t >= sweepAgainAt || t - lastSweep >= sweepMs) {
      if (t >= sweepAgainAt) sweepAgainAt = Number.POSITIVE_INFINITY;
      sweepSoon = false;
      dirty = new Set();
      await reader.readAll();
      lastSweep = lastAlive = t;
      changed = true;
    } else {
      const paths = dirty;
      dirty = new Set();
      if (paths.size > 0 || t - lastAlive >= aliveMs) {
        await reader.readPaths(paths);
        lastAlive = t;
      }
      const before = reader.state.samples.at(-1)?.done;
      await reader.tailJournals([...paths].flatMap((p) => reader.heartbeatKey(p) ?? []));
      changed ||= totalCounts(reader.state).done !== before;
    }
    recordSample(reader.state, t);
    opts.onTick(reader.state, changed);
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      running = tick()
        .catch((err) => opts.onError?.(err))
        .finally(schedule);
    }, tickMs);
  }
  schedule();

  return {
    state: reader.state,
    async rescan() {
      await running;
      await reader.readAll();
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
      await watcher.close();
      await reader.close();
    },
  };
}
