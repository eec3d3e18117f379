import { realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  CapiError,
  checkRunOwner,
  controlConcurrency,
  controlRate,
  ExitCode,
  holdingRunManifest,
  isDirectory,
  RUN_ID_PREFIX,
  type RunControl,
  type RunManifest,
  readPidFile,
  readRunControl,
  readRunManifest,
  runBeingMade,
  runPaths,
  stillBeingMadeNote,
  supervisorBy,
  writeFileAtomic,
} from '@capi/core';
import type { RemoteOptions } from './hosts.js';
import { hasManifest, noManifestNote, notLeftByLaunch } from './launch-lock.js';

/** run.json and control.json of docs/run-folder.md, read and replaced atomically. */

/** What the supervisor needs to run a run, kept in run.json `options`. */
export interface LaunchOptions {
  rate: string | null;
  concurrency: number | null;
  /** capi-exec flags given at launch (base URL, headers, timeouts...), passed to every worker. */
  execArgs: string[];
  maxRestarts: number;
  onFinish: string | null;
  /** `--stall-timeout` in seconds (0: no watchdog); absent or null: the default (stall.ts). */
  stallTimeoutS?: number | null;
  /** capi-split `--lenient`, `--vars-columns` and `--auto-id` of the launch: a suite is split again the same way (split-flags.ts). */
  lenient?: boolean;
  varsColumns?: string[];
  autoId?: boolean;
  /** `--hosts`: the batches run on these machines over SSH (remote-run.ts); absent: here. */
  remote?: RemoteOptions | null;
}

export type Manifest = Omit<RunManifest, 'options'> & { options: LaunchOptions };

/** run.json read and its shape checked by core's one reader (`readRunManifest`): damaged is exit 2, naming the field. */
export const readManifest = async (runDir: string) =>
  (await readRunManifest(runPaths(runDir).manifest)) as unknown as Manifest;

export const writeManifest = (runDir: string, m: Manifest) =>
  writeFileAtomic(runPaths(runDir).manifest, `${JSON.stringify(m, null, 2)}\n`);

/**
 * A run's supervisor, then its run.json, in that order: a supervisor writes its end and
 * then exits, so a run.json read after "gone" is its last word. Read the other way, a run
 * that completed in between looks like one whose supervisor died running (and may be
 * stopped or offered a resume). The supervisor is judged by core's one pid
 * (`runSupervisorPid`: supervisor.pid, else run.json's `pid`, as the listing's `dead` and
 * capi-watch judge it): a live supervisor whose supervisor.pid was removed (by hand, a
 * cleanup) is still the run's, not stopped under it. Without supervisor.pid run.json is
 * read for its pid, then again after the look: that second read is the last word.
 * `alive`: core's identity check of that pid, whichever file named it (a reused pid is
 * not it). `pidFilePid`: what supervisor.pid itself names, for those who remove the file.
 */
export async function lookAtRun(runDir: string): Promise<SupervisorLook & { manifest: Manifest }> {
  return { ...(await lookAtSupervisor(runDir)), manifest: await readManifest(runDir) };
}

/**
 * lookAtRun's first half, for a caller that reads run.json later itself (summarize-run.ts,
 * which counts the journals between): the supervisor's pid by core's rule (run.json read for
 * it only without supervisor.pid) and its identity check.
 */
export async function lookAtSupervisor(runDir: string): Promise<SupervisorLook> {
  const pidFilePid = readPidFile(runDir);
  const manifestPid = pidFilePid === null ? (await readManifest(runDir)).pid : null;
  return { pidFilePid, ...supervisorBy(runDir, pidFilePid, manifestPid) };
}

export interface SupervisorLook {
  /** core's pid (supervisor.pid's, else run.json's `pid`): the one judged. */
  pid: number | null;
  /** What supervisor.pid itself names, for those who remove the file. */
  pidFilePid: number | null;
  /** `pid` passes core's identity check. */
  alive: boolean;
}

/**
 * The supervisor of run.json `m` as read under run.json.lock: lookAtSupervisor's rule (core's
 * `supervisorBy`: supervisor.pid, else `m.pid`, and the identity check), where a decision
 * made on an earlier look is made again before anything is written. A supervisor takes a
 * run under that lock (supervise.ts `takeRun`: supervisor.pid, then run.json), so one that
 * took it since the look is seen here.
 */
export function supervisorNow(runDir: string, m: Pick<Manifest, 'pid'>): SupervisorLook {
  const pidFilePid = readPidFile(runDir);
  return { pidFilePid, ...supervisorBy(runDir, pidFilePid, m.pid) };
}

/** Is run.json `m` (read under run.json.lock) supervised by a live supervisor now (`supervisorNow`)? */
export const supervisedNow = (runDir: string, m: Pick<Manifest, 'pid'>) => supervisorNow(runDir, m).alive;

/**
 * Read, change, replace run.json under `run.json.lock` (O_EXCL, the holder's pid inside,
 * held for milliseconds as control.json.lock is; one older than 5 s or whose pid is gone
 * is broken). run.json has more than one writer: the supervisor (taking the run, its end),
 * `--stop`, a launch clearing a dead supervisor's run, and `--set`/`--pause`/`--continue`
 * (its `options`); without the lock a `--set` that read run.json just before the supervisor
 * wrote its end would write `running` back over it. `change` may be a function of run.json
 * as it is under the lock, which may refuse (throw) or return null (a decision made again
 * there: nothing to change, run.json as it is): nothing is then written.
 */
export async function updateManifest(
  runDir: string,
  change: Partial<Manifest> | ((now: Manifest) => Partial<Manifest> | null | Promise<Partial<Manifest> | null>),
  onWait?: () => void,
): Promise<Manifest> {
  return holdingManifest(
    runDir,
    async () => {
      const now = await readManifest(runDir);
      const changes = typeof change === 'function' ? await change(now) : change;
      if (changes === null) return now;
      const changed = { ...now, ...changes };
      const next = withLiveLimits(changed, await readControl(runDir).catch(() => null));
      await writeManifest(runDir, next);
      return next;
    },
    onWait ? { onWait } : {},
  );
}

/**
 * run.json `options.rate` and `options.concurrency` as control.json says them. control.json
 * is the truth (the workers read it); run.json keeps a copy, written after it by `--set`
 * and a resume. A `--set` killed between its two writes left the copy behind: every
 * later write of run.json (the supervisor's end, `--stop`, the next `--set`, a resume's
 * take) copies them again, so the two never stay apart. The copy is what the workers run
 * with, by core's one rule for control.json's limits: a `rate` or `concurrency` capi-exec
 * does not take (a hand edit) leaves the workers at the one they last took, and the copy as
 * it is; a worker that starts then takes the copy's rate, and its `--concurrency` is the
 * copy's. A control.json that cannot be read leaves the copy as it is.
 */
export function withLiveLimits(m: Manifest, c: RunControl | null): Manifest {
  if (!c) return m;
  const options = { ...m.options };
  const rate = controlRate(c);
  if (rate !== undefined) options.rate = rate;
  const concurrency = controlConcurrency(c);
  if (concurrency !== undefined) options.concurrency = concurrency;
  return options.rate === m.options.rate && options.concurrency === m.options.concurrency ? m : { ...m, options };
}

/**
 * Runs `fn` holding run.json.lock (`updateManifest`'s; core's `holdingRunManifest`). A
 * supervisor also holds it while it looks for another live supervisor and writes
 * supervisor.pid: of two taking a run at one moment (a late one of a killed launch and a
 * resume's), the second finds the first.
 */
export const holdingManifest = holdingRunManifest;

/**
 * control.json by core's one reader (`readRunControl`), for a change under its lock and for
 * `--status`: missing or not JSON is exit 2 naming the file (a `--set` writes nothing then).
 * Typed as capi-launch writes it; a hand edit's fields are taken or not by core's rules
 * (`controlRate`…) where they are used.
 */
export async function readControl(runDir: string): Promise<RunControl> {
  const path = runPaths(runDir).control;
  const file = await readRunControl(path);
  if (file === null) throw new CapiError(`${path}: no such file`, ExitCode.badInput);
  if ('damaged' in file) throw new CapiError(`${path}: malformed JSON: ${file.damaged}`, ExitCode.badInput);
  return file.control as RunControl;
}

export const writeControl = (runDir: string, c: RunControl) =>
  writeFileAtomic(runPaths(runDir).control, `${JSON.stringify(c)}\n`);

/**
 * Finds a run from what a user typed: a folder path, a run id inside the runs folder,
 * or nothing / `latest` for the newest one. A run folder without run.json whose capi-launch
 * is still making it (the runs folder's launch lock held) is waited for, only reading
 * (`madeRun`: core's `runBeingMade`, as long as that launch shows life, `notes` told at intervals): its run once
 * run.json is written, or why there is none.
 */
export async function resolveRun(
  runs: string,
  arg: string | undefined,
  notes: (text: string) => void = () => {},
): Promise<string> {
  // The runs folder first: a run id never finds a folder of that name in the current folder instead.
  const candidates = !arg || arg === 'latest' ? [join(runs, 'latest')] : [join(runs, arg), resolve(arg)];
  let unmade: string | null = null;
  for (const dir of candidates) {
    let real: string;
    try {
      await stat(join(dir, 'run.json'));
      real = await realpath(dir);
    } catch {
      // a run's folder whose capi-launch has not written run.json, or never will
      if (!unmade && basename(dir).startsWith(RUN_ID_PREFIX) && (await isDirectory(dir))) unmade = dir;
      continue;
    }
    // only the owner controls a run: a folder another user controls is refused (exit 3)
    checkRunOwner(real);
    return real;
  }
  if (unmade) return madeRun(unmade, arg, notes);
  throw new CapiError(arg ? `no run "${arg}" (looked in ${runs})` : `no runs in ${runs}`, ExitCode.badInput);
}

/** A run folder seen without run.json: the run once its launch has made it, or why there is none. */
async function madeRun(dir: string, arg: string | undefined, notes: (text: string) => void): Promise<string> {
  // while a capi-launch is under way the folder may be the run it makes: waited for, only
  // reading (core's runBeingMade, as capi-watch does), so a run whose launch wrote run.json
  // since the first look is that run, not a launch that died
  const made = await runBeingMade(dir, hasManifest, notes);
  if (made === 'made') {
    const real = await realpath(dir);
    checkRunOwner(real);
    return real;
  }
  if (made === 'not') throw new CapiError(noManifestNote(dir, false, await notLeftByLaunch(dir)), ExitCode.badInput);
  if (made === 'held') throw new CapiError(stillBeingMadeNote(dir), ExitCode.cannotRun);
  throw new CapiError(
    `no run "${arg ?? basename(dir)}": its capi-launch removed ${dir} without starting a run (the launch failed)`,
    ExitCode.badInput,
  );
}

/** A run in these states may still have a supervisor or workers at work. */
export const mayRun = (state: string) => state === 'running' || state === 'created';
