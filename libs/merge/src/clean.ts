import { readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  holdingRunManifest,
  isRunFolder,
  liveSupervisorOf,
  lockHolderAlive,
  readJournalLock,
  runPaths,
  sayOnceWaited,
} from '@capi/core';
import type { MergeState } from './merge-state.js';
import type { RunFolderFiles } from './run-folder.js';
import { STATUS_CODE } from './test-table.js';

/** A supervisor other than the one that called us still works in the folder (core's one identity check). */
function liveSupervisor(runDir: string): number | null {
  const pid = liveSupervisorOf(runDir);
  return pid === null || pid === process.pid || pid === process.ppid ? null : pid;
}

/** A capi-exec that still holds a journal's lock: its pid (-1: on another host), else null. */
async function liveJournalWriter(lockFile: string): Promise<number | null> {
  const found = await readJournalLock(lockFile).catch(() => null);
  // An empty lock is one being written: a capi-exec is starting.
  if (found && found.text === '') return 0;
  const info = found?.info;
  if (!info || !lockHolderAlive(info, hostname())) return null;
  return info.host === hostname() ? info.pid : -1;
}

async function names(dir: string, keep: (name: string) => boolean): Promise<string[]> {
  try {
    return (await readdir(dir)).filter(keep).map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/**
 * The guide's clean-up step, made safe. Called only after every output (including the
 * merged `report/results.ndjson`) is in place. Removes batches/, claims/, status/, the
 * per-batch logs and the result journals with their sidecars and stale locks; keeps run.json, report/,
 * logs/capi.log and logs/worker_K.log.
 * Refuses (with a warning, removing nothing) while tests are missing, since a resume
 * still needs the batches, or while a live supervisor or capi-exec works in the folder.
 */
export async function cleanRun(
  runs: RunFolderFiles[],
  state: MergeState,
  warn: (m: string) => void,
): Promise<string[]> {
  const run = runs[0];
  if (!run) return [];
  let missing = 0;
  for (let i = 0; i < state.tests.size; i++) if (state.tests.status[i] === STATUS_CODE.missing) missing++;
  if (missing > 0) {
    warn(`--clean: nothing removed: ${missing} tests are missing and a resume still needs the batches`);
    return [];
  }
  const p = runPaths(run.dir);
  // A launched run is judged holding its run.json.lock, under which a supervisor takes a
  // run: one that took it since capi-merge read it (a resume's) holds the clean back, and
  // one that comes after finds the batches gone (and fails the run, saying so) rather than
  // losing them under its workers. A bare capi-exec folder has no run.json and no lock.
  if (!(await isRunFolder(p.dir))) return removeIntermediates(p, warn);
  // held by others for a moment only: a wait past a second is named, once
  const said = sayOnceWaited(1000, () =>
    warn(`--clean: waiting for ${p.manifest}.lock: a capi process is writing the run's run.json (up to a minute)`),
  );
  return holdingRunManifest(p.dir, () => removeIntermediates(p, warn), said);
}

/** cleanRun's checks of who still works in the folder, then its removal. */
async function removeIntermediates(p: ReturnType<typeof runPaths>, warn: (m: string) => void): Promise<string[]> {
  const pid = liveSupervisor(p.dir);
  if (pid !== null) {
    warn(`--clean: nothing removed: the run's supervisor (pid ${pid}) is still running`);
    return [];
  }
  for (const lock of await names(p.results, (n) => n.endsWith('.ndjson.lock'))) {
    const writer = await liveJournalWriter(lock);
    if (writer === null) continue;
    const who =
      writer === -1 ? 'a capi-exec on another host' : writer === 0 ? 'a capi-exec starting' : `capi-exec pid ${writer}`;
    warn(`--clean: nothing removed: ${lock} is held by ${who}`);
    return [];
  }
  const targets = [
    p.batches,
    p.claims,
    p.status,
    ...(await names(p.logs, (n) => /^batch_.*\.log$/.test(n))),
    // The journals with their .meta.json sidecars and stale .lock files (docs/run-folder.md).
    ...(await names(p.results, (n) => /\.ndjson(\.meta\.json|\.lock)?$/.test(n))),
  ];
  for (const t of targets) await rm(t, { recursive: true, force: true });
  return targets;
}
