import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { runPaths, shellQuote } from '@capi/core';
import { liveWorkers, readClaims, releaseStopped } from './claims.js';
import { afterLaunches } from './launch.js';
import {
  holdingManifest,
  lookAtRun,
  type Manifest,
  mayRun,
  readManifest,
  supervisedNow,
  updateManifest,
} from './manifest.js';
import { isAlive, killTree, signal, supervisorOf, waitGone } from './process.js';
import { runLogger } from './run-logger.js';
import { closeSession } from './start.js';
import { stopGraceMs } from './stop-workers.js';

export interface StopOptions {
  force?: boolean;
  /** How long in-flight tests may take before the stop turns forced. */
  graceMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Messages for the person stopping (waiting for a resume of the run to start it). */
  notes?: (text: string) => void;
}

export interface StopResult {
  manifest: Manifest;
  /** What happened, for the person who asked: `stopped`, `already stopped`, killed after the grace... */
  message: string;
}

/** How long a graceful stop waits before it kills, as the supervisor waits for its own workers. */
async function graceOf(runDir: string): Promise<number> {
  return stopGraceMs((await readManifest(runDir)).options.execArgs);
}

/**
 * Graceful: SIGTERM to the supervisor, which passes it to its workers (they finish what
 * is in flight and flush their journals); with the supervisor gone (kill -9), SIGTERM to
 * the workers it left. Whatever has not ended after the grace, or at once with `force`,
 * is killed with SIGKILL, said on stderr and in capi.log; the journals stay valid because
 * every line is whole before it counts. Then the run is made consistent here, since a
 * killed supervisor cannot: state `stopped`, claims released, no pid file.
 */
export async function stopLaunchedRun(runDir: string, o: StopOptions = {}, again = false): Promise<StopResult> {
  // A run without a live supervisor may be one a resume is starting right now: its
  // run.json still says stopped (or completed), and a stop that believed it would be lost
  // as the run goes on. Such a stop waits for the resume to have started, or given up.
  // (A live run needs no wait: a resume refuses it, and other launches are not waited for.)
  if (!(await lookAtRun(runDir)).alive) await afterLaunches(dirname(runDir), o.notes ?? (() => {}));
  // a run that completed in between is "already completed", not stopped
  // `pid`: core's (supervisor.pid, else run.json's), signalled only when `alive` (its identity check)
  const { pid, pidFilePid, alive, manifest: before } = await lookAtRun(runDir);
  const supervisor = alive ? pid : null;
  const workers = mayRun(before.state) ? liveWorkers(await readClaims(runDir), before.id) : [];
  if (!supervisor && workers.length === 0) {
    if (!mayRun(before.state)) {
      // a resume's supervisor that took the run since the look is stopped, its pid file kept
      if (pidFilePid && !(await clearPidFile(runDir))) return stopTaken(runDir, o, again);
      return { manifest: before, message: `run ${before.id} is not running (already ${before.state})` };
    }
    const m = await markStopped(runDir, o.env);
    // taken meanwhile by a supervisor (a late one of a killed launch): stop that one
    if (!m) return stopTaken(runDir, o, again);
    return {
      manifest: m,
      message: `run ${m.id} stopped (${before.state === 'created' ? 'it had never started' : `its supervisor ${pid ?? before.pid ?? '?'} was already gone`})`,
    };
  }
  const log = runLogger(runDir, false);
  const gone = (ms: number) =>
    Promise.all([
      waitGone(supervisor ? [supervisor] : [], ms, supervisorOf(runDir)),
      waitGone(workers, ms, before.id),
    ]).then((r) => r.every(Boolean));
  let killed = '';
  if (!o.force) {
    if (supervisor) signal(supervisor, 'SIGTERM');
    else for (const w of workers) signal(w, 'SIGTERM');
  }
  const graceMs = o.graceMs ?? (await graceOf(runDir));
  // Who is left is read once the grace is over (all may have gone just after it), each by its
  // identity check again: a process that ended during the grace may have had its pid reused,
  // and only those still the run's get the SIGKILL.
  const ended = !o.force && (await gone(graceMs));
  const liveSupervisor = !ended && supervisor && isAlive(supervisor, supervisorOf(runDir)) ? supervisor : null;
  const stillWorkers = ended ? [] : workers.filter((w) => isAlive(w, before.id));
  const stragglers = [
    ...(liveSupervisor ? [`the supervisor (pid ${liveSupervisor})`] : []),
    ...stillWorkers.map((w) => `worker pid ${w}`),
  ];
  if (stragglers.length > 0) {
    // each with what runs under it: a --hosts keeper's GNU parallel and ssh jobs (killTree)
    if (liveSupervisor) killTree(liveSupervisor);
    for (const w of stillWorkers) killTree(w);
    await gone(5_000);
    killed = o.force
      ? `--force: killed ${stragglers.join(', ')} with SIGKILL`
      : `did not stop within ${Math.round(graceMs / 1000)} s: killed ${stragglers.join(', ')} with SIGKILL`;
    log(`capi-launch --stop: ${killed}`);
  }
  const m = await markStopped(runDir, o.env);
  if (!m) {
    log.close();
    return stopTaken(runDir, o, again);
  }
  if (killed) log(`run stopped; resume it with capi-launch --resume ${shellQuote(runDir)}`);
  log.close();
  return { manifest: m, message: `run ${m.id} ${m.state}${killed ? `: ${killed}` : ''}` };
}

/** A supervisor took the run while it was being stopped: it is stopped in turn (once). */
async function stopTaken(runDir: string, o: StopOptions, again: boolean): Promise<StopResult> {
  if (!again) return stopLaunchedRun(runDir, o, true);
  const { pid, manifest } = await lookAtRun(runDir);
  return {
    manifest,
    message: `run ${manifest.id} was taken by supervisor ${pid ?? '?'} while it was being stopped: it runs`,
  };
}

/**
 * The end of a stop whoever did it: pid file gone (a killed supervisor leaves it), claims
 * of ended workers released, `stopped` unless the supervisor wrote an end of its own.
 * Decided again under run.json.lock, all three: an end written since the look above is
 * kept, and a run a live supervisor has taken since (the late supervisor of a killed
 * capi-launch, a resume's: it writes supervisor.pid under that lock, then run.json) is left
 * as it is, its pid file and claims too: null, the caller stops that supervisor.
 */
async function markStopped(runDir: string, env?: NodeJS.ProcessEnv): Promise<Manifest | null> {
  let taken = false;
  const m = await updateManifest(runDir, async (now) => {
    if (supervisedNow(runDir, now)) {
      taken = true;
      return null;
    }
    await rm(runPaths(runDir).pidFile, { force: true });
    // read again: the supervisor may have written its claims while it stopped
    await releaseStopped(runDir, await readClaims(runDir), (p) => isAlive(p, now.id));
    if (!mayRun(now.state)) return null;
    return { state: 'stopped', pid: null, finished: new Date().toISOString(), stopSignal: 'SIGTERM' };
  });
  if (taken) return null;
  closeSession(m, env);
  return m;
}

/**
 * A run that is not running, whose supervisor.pid outlived its supervisor: the file removed,
 * decided again under run.json.lock. False: a live supervisor has taken the run since the
 * look (a resume's), and its pid file is kept.
 */
function clearPidFile(runDir: string): Promise<boolean> {
  return holdingManifest(runDir, async () => {
    if (supervisedNow(runDir, await readManifest(runDir))) return false;
    await rm(runPaths(runDir).pidFile, { force: true });
    return true;
  });
}
