import { exclusiveFileHeld } from './exclusive-file.js';
import { launchLockOf } from './run-folder.js';

/**
 * "Is this launched run dead?" — THE one rule, for capi-launch's listing (`--status`,
 * `--list`: `dead`) and capi-watch (DEAD, exit 3). Each tool gathers what it can see;
 * the rule is the same for both (docs/run-folder.md, "supervisor.pid" and `state`).
 */
export interface RunLife {
  /** run.json's state, read after the supervisor was looked at (a supervisor writes its end, then exits). */
  state: string;
  /**
   * The run's supervisor is alive by core's identity check (`isRunSupervisor`) of its pid
   * (`runSupervisorPid`: supervisor.pid, else run.json's `pid`); false when neither names one.
   */
  supervisorAlive: boolean;
  /**
   * A capi-launch of the runs folder holds `.launch.lock` (`launchUnderWay`), looked at
   * before run.json and the supervisor were: a `created` run may be the one it is still
   * preparing (splitting millions of rows, waiting for its supervisor). Asked only of a
   * `created` run without a live supervisor (`mayBeNeverStarted`); null: not looked at.
   */
  launchUnderWay: boolean | null;
}

/**
 * Dead: the run is not finished and nothing will move it. `running` without a live
 * supervisor (gone, its pid reused, or no pid at all); or `created` (never taken by a
 * supervisor) without a live supervisor while no capi-launch is under way: its launch
 * ended before its supervisor took it (never started). A `created` run whose lock was not
 * looked at (null) is not called dead: a launch may still be preparing it.
 */
export function runIsDead(life: RunLife): boolean {
  if (life.supervisorAlive) return false;
  if (life.state === 'running') return true;
  return life.state === 'created' && life.launchUnderWay === false;
}

/** Whether `runIsDead` needs `launchUnderWay` looked at: a `created` run without a live supervisor. */
export const mayBeNeverStarted = (state: string, supervisorAlive: boolean) => state === 'created' && !supervisorAlive;

/**
 * The pid a run's supervisor is judged by: supervisor.pid's (written first, as it takes the
 * run), else run.json's `pid` (written next; kept until its end).
 */
export const runSupervisorPid = (pidFilePid: number | null | undefined, manifestPid: number | null | undefined) =>
  pidFilePid ?? manifestPid ?? null;

/**
 * Is a capi-launch of `runs` under way: its `.launch.lock` held by a live process (core's
 * exclusive-file rule: a dead holder, or a pid reused after it, does not count)? Only reads.
 * A capi-launch holds it from before it makes a run until its supervisor has taken the run,
 * touching it while it splits (`LAUNCH_LOCK_LIFE`), so look at it first, then at the run.
 */
export const launchUnderWay = (runs: string): Promise<boolean> => exclusiveFileHeld(launchLockOf(runs));
