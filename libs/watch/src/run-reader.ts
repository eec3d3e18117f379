import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  type BatchIndex,
  CapiError,
  ExitCode,
  isErrnoException,
  isRunSupervisor,
  launchUnderWay,
  mayBeNeverStarted,
  pidAlive,
  REPORT_NAMES,
  readIfExists,
  readRunControl,
  readRunManifest,
  runPaths,
  runSupervisorPid,
  type StatusHeartbeat,
} from '@capi/core';
import { appendLogLines, applyJournalLine, batchState, createRunState, type RunState } from './run-state.js';
import { type FileTail, tailFile } from './tail-file.js';
import { classify, type WatchTarget } from './watch-target.js';

/** Reads the files of a run into a RunState: journals and logs tailed, the rest re-read. */
export interface RunReader {
  readonly state: RunState;
  /** Every file of the run (start, and a slow safety sweep in case an event was missed). */
  readAll(): Promise<void>;
  /** Only the files that changed. */
  readPaths(paths: Iterable<string>): Promise<void>;
  /**
   * Tails the journals of the batches still going, plus those of `keys` (a heartbeat just
   * changed). Journals grow thousands of lines a second: they are read on the clock, not
   * per file event.
   */
  tailJournals(keys: Iterable<string>): Promise<void>;
  /** Closes the files kept open. */
  close(): Promise<void>;
  /** Which journal/heartbeat key a path is, if it is a heartbeat. */
  heartbeatKey(path: string): string | null;
  /** Paths the reader follows: the folders a file watcher should watch. */
  readonly watchDirs: string[];
}

const LOG_BACKLOG_BYTES = 16 * 1024;
const FINAL_HEARTBEATS = new Set(['completed', 'stopped', 'failed']);

async function readJson(path: string): Promise<unknown> {
  const text = await readIfExists(path);
  // Gone, or (never with an atomic writer) half written: the next read will tell.
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).map((n) => join(dir, n));
  } catch (err) {
    if (isErrnoException(err) && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return [];
    throw err;
  }
}

/** A merged record's batch (its `batch` field, a run's batch file name), for its row of the batch table. */
function batchOfLine(line: string): string {
  return BATCH_FIELD.exec(line)?.[1] ?? 'report';
}
const BATCH_FIELD = /"batch":"(batch_[0-9]+)"/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * Long as a whole, short in its parts: `readOne`, `readIndex`, `refreshAlive` and the
 * path listings are closures over one reader's tails, dirty set and RunState.
 */
export function createRunReader(target: WatchTarget): RunReader {
  const state = createRunState(target);
  const tails = new Map<string, FileTail>();
  const tailOf = (path: string, log: boolean) => {
    let t = tails.get(path);
    if (!t) {
      t = tailFile(path, log ? { fromEndBytes: LOG_BACKLOG_BYTES } : {});
      tails.set(path, t);
    }
    return t;
  };

  /**
   * Batches whose journal was read after their heartbeat turned final: it cannot grow any
   * more (a resume writes a live heartbeat first), so the sweep skips it.
   */
  const settled = new Set<string>();
  /** A cleaned run's merged results were read (they stand in for its removed journals). */
  let mergedRead = false;
  /** Where each batch's heartbeat was read from, to read it again (staleFilesOfGone). */
  const heartbeatPaths = new Map<string, string>();

  async function readOne(path: string, sweep = false): Promise<void> {
    const c = classify(target, path);
    if (!c) return;
    if (c.role === 'journal') {
      if (sweep && settled.has(c.key)) return;
      batchState(state, c.key).hasJournal = true;
      const tail = tailOf(path, false);
      // A big backlog is read in slices, so the lines in memory at once stay few.
      do for (const line of await tail.read()) applyJournalLine(state, c.key, line);
      while (tail.more);
      // Only the journals of live batches stay open: a run can have thousands.
      const hb = state.batches.get(c.key)?.heartbeat;
      if (hb && FINAL_HEARTBEATS.has(hb.state)) {
        await tail.close();
        settled.add(c.key);
      }
    } else if (c.role === 'merged') {
      // read once, whole, in slices: a cleaned run is over and its file does not grow
      if (mergedRead) return;
      mergedRead = true;
      const tail = tailOf(path, false);
      do
        for (const line of await tail.read()) {
          const key = batchOfLine(line);
          applyJournalLine(state, key, line);
          batchState(state, key).fromReport = true;
        }
      while (tail.more);
      await tail.close();
    } else if (c.role === 'log') {
      const tail = tailOf(path, true);
      appendLogLines(state, basename(path), await tail.read());
      await tail.close();
    } else if (c.role === 'heartbeat') {
      heartbeatPaths.set(c.key, path);
      const hb = await readJson(path);
      if (isObject(hb) && typeof hb.state === 'string') {
        batchState(state, c.key).heartbeat = hb as unknown as StatusHeartbeat;
        if (!FINAL_HEARTBEATS.has(hb.state)) settled.delete(c.key);
      }
    } else if (c.role === 'manifest') {
      // core's one reader; a run.json damaged while watched (never by capi's atomic writer)
      // leaves the last good one in place, as a heartbeat that cannot be read does
      const m = await readRunManifest(path).catch((err: unknown) => {
        if (err instanceof CapiError && err.exitCode === ExitCode.badInput) return null;
        throw err;
      });
      if (m) {
        state.manifest = m;
        state.manifestMtimeMs = await stat(path).then(
          (st) => st.mtimeMs,
          () => null,
        );
      }
    } else if (c.role === 'control') {
      // core's one reader: gone, none (run.json's copy, what a worker starting now runs at);
      // one that is not JSON leaves what was last read, paused too (a worker changes nothing for it)
      const file = await readRunControl(path);
      if (file !== null && 'damaged' in file) return;
      const control = file?.control;
      state.controlPaused = control?.paused === true;
      state.control = control;
    } else if (c.role === 'pid') {
      const text = await readFile(path, 'utf8').catch(() => '');
      const pid = Number.parseInt(text.trim(), 10);
      state.pidFilePid = Number.isSafeInteger(pid) && pid > 0 ? pid : null;
    } else if (c.role === 'index') {
      readIndex((await readJson(path)) as BatchIndex | null);
    }
  }

  function readIndex(index: BatchIndex | null): void {
    if (!isObject(index) || !Array.isArray(index.batches)) return;
    state.indexTotal = typeof index.total === 'number' ? index.total : null;
    for (const b of index.batches) if (isObject(b)) state.indexCounts.set(String(b.batch), Number(b.count));
  }

  function allPaths(): Promise<string[]> | string[] {
    if (target.kind === 'exec') return [...target.files.keys()];
    const p = runPaths(target.dir);
    return Promise.all([list(p.results), list(p.status), list(p.logs)]).then(([results, ...rest]) => [
      p.manifest,
      p.batchIndex,
      p.control,
      // after `capi-merge --clean` the journals are gone and the merged records stand in
      // for them (docs/capi-merge.md), as they do for capi-launch --status
      ...(results.some((r) => r.endsWith('.ndjson')) ? results : [join(p.report, REPORT_NAMES.merged)]),
      ...rest.flat(),
    ]);
  }

  function refreshAlive(): void {
    const pids = new Set<number>();
    for (const b of state.batches.values())
      if (b.heartbeat && !FINAL_HEARTBEATS.has(b.heartbeat.state) && typeof b.heartbeat.pid === 'number')
        pids.add(b.heartbeat.pid);
    state.alive = new Map([...pids].map((pid) => [pid, pidAlive(pid)]));
    // A supervisor is checked by core's one identity rule: a reused pid is not it (DEAD, and never signalled).
    const sup = supervisorPid();
    if (typeof sup === 'number' && target.kind === 'run') state.alive.set(sup, isRunSupervisor(sup, target.dir));
    else if (typeof sup === 'number') state.alive.set(sup, pidAlive(sup));
  }

  const supervisorPid = () => runSupervisorPid(state.pidFilePid, state.manifest?.pid) ?? undefined;

  /**
   * The files that say a process is still going, for each process found gone. A process
   * writes its last state (run.json, its heartbeat) before it exits, so a file read before
   * the pid was checked can be one write behind: "gone, yet running" is only believed
   * when the file, read after the check, still says so. Without this second read a run
   * that ended between the two reads showed DEAD.
   */
  function staleFilesOfGone(): string[] {
    const paths: string[] = [];
    for (const [key, b] of state.batches) {
      const hb = b.heartbeat;
      const path = heartbeatPaths.get(key);
      if (hb && path && !FINAL_HEARTBEATS.has(hb.state) && state.alive.get(hb.pid) === false) paths.push(path);
    }
    const sup = supervisorPid();
    // no pid anywhere reads as gone too (snapshot.ts `ownerless`): believed only once run.json, read again, still says running
    const gone = typeof sup === 'number' ? state.alive.get(sup) === false : state.manifest?.state === 'running';
    if (target.kind === 'run' && gone) {
      const p = runPaths(target.dir);
      // run.json's final states are the heartbeats' three words
      if (!FINAL_HEARTBEATS.has(String(state.manifest?.state))) paths.push(p.pidFile, p.manifest);
    }
    return paths;
  }

  async function checkAlive(): Promise<void> {
    refreshAlive();
    const stale = staleFilesOfGone();
    if (stale.length > 0) {
      for (const path of stale) await readOne(path);
      refreshAlive();
    }
    await lookForLaunch();
  }

  /**
   * A `created` run without a live supervisor is dead only when no capi-launch is under way
   * (core `runIsDead`): the launch lock is looked at first, then supervisor.pid and run.json
   * again, since a capi-launch lets the lock go only once its supervisor has taken the run.
   */
  async function lookForLaunch(): Promise<void> {
    state.launchUnderWay = null;
    if (target.kind !== 'run' || !createdWithoutSupervisor()) return;
    const underWay = await launchUnderWay(dirname(target.dir));
    const p = runPaths(target.dir);
    state.pidFilePid = null;
    await readOne(p.pidFile);
    await readOne(p.manifest);
    refreshAlive();
    if (createdWithoutSupervisor()) state.launchUnderWay = underWay;
  }

  function createdWithoutSupervisor(): boolean {
    const sup = supervisorPid();
    const alive = typeof sup === 'number' && state.alive.get(sup) === true;
    return mayBeNeverStarted(String(state.manifest?.state), alive);
  }

  const watchDirs =
    target.kind === 'exec'
      ? target.dirs
      : [target.dir, ...['status', 'logs', 'batches'].map((d) => join(target.dir, d))];

  function journalPaths(keys: Set<string>): string[] {
    if (target.kind === 'exec') return [...target.files].filter(([, f]) => f.role === 'journal').map(([path]) => path);
    for (const b of state.batches.values())
      if (!b.heartbeat || !FINAL_HEARTBEATS.has(b.heartbeat.state)) keys.add(b.key);
    return [...keys].map((k) => runPaths(target.dir).resultFile(k));
  }

  return {
    state,
    watchDirs,
    async readAll() {
      if (target.kind === 'run') {
        state.pidFilePid = null;
        await readOne(runPaths(target.dir).pidFile);
      }
      for (const path of await allPaths()) await readOne(path, true);
      await checkAlive();
    },
    async readPaths(paths) {
      for (const path of paths) await readOne(path);
      await checkAlive();
    },
    async tailJournals(keys) {
      for (const path of journalPaths(new Set(keys))) await readOne(path);
    },
    async close() {
      for (const t of tails.values()) await t.close();
    },
    heartbeatKey(path) {
      const c = classify(target, path);
      return c?.role === 'heartbeat' ? c.key : null;
    },
  };
}
