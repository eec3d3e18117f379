import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pidAlive, processStartMs } from './processes.js';
import { runSupervisorPid } from './run-liveness.js';

/**
 * "Is this the run's supervisor?" — THE one check, for capi-launch (--stop, --resume,
 * --status, a second launch), capi-watch (its `s` key, DEAD) and `capi-merge --clean`.
 * A pid file outlives its process (kill -9, a reboot) and the pid is then reused by
 * anything; signalling that would hit an unrelated process. So a pid is the supervisor
 * only when it is alive (a zombie is not), started no later than the pid file was
 * written, and its argv holds the exact pair `--supervise <run folder>` (start.ts starts
 * every background supervisor so) or, for a run supervised in the terminal that
 * launched it, is a `capi-launch … --foreground`. docs/run-folder.md, "supervisor.pid".
 */

export const SUPERVISE_FLAG = '--supervise';

/**
 * The environment variable a supervisor starts its `capi-exec --serve` workers with: its own
 * pid. A worker compares its parent with it from its first moment, so a supervisor killed
 * during the worker's start-up (it is reparented before it first looks) is seen too.
 */
export const SUPERVISOR_PID_ENV = 'CAPI_SUPERVISOR_PID';

/**
 * A process's argv from /proc/PID/cmdline (NUL-separated); null where there is no /proc
 * to ask (not Linux), [] when /proc has no such process (gone, or a zombie's empty line).
 */
export function argvOf(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw === '' ? [] : raw.replace(/\0$/, '').split('\0');
  } catch {
    try {
      readFileSync('/proc/self/cmdline');
      return [];
    } catch {
      return null;
    }
  }
}

const realOf = (path: string) => {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
};

const mtimeOf = (path: string) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
};

/**
 * `foreground`: whether a `capi-launch … --foreground` counts, whose argv names the suite, not
 * the run: only for a pid recorded in supervisor.pid, whose mtime is when it was recorded.
 */
function supervisesArgv(argv: string[], runDir: string, foreground: boolean): boolean {
  const real = realOf(runDir);
  for (let i = 0; i + 1 < argv.length; i++)
    if (argv[i] === SUPERVISE_FLAG && realOf(argv[i + 1] as string) === real) return true;
  if (!foreground) return false;
  const launch = argv.some((a) => /^capi-launch(\.js)?$/.test(basename(a)));
  return launch && argv.includes('--foreground');
}

/** Start times are in clock ticks and clocks may be set: a second of slack. */
const SLACK_MS = 1000;

/**
 * Whether `pid` is the supervisor of `runDir`. `sinceMs`: when the pid was recorded
 * (the pid file's mtime); by default the pid file's, else run.json's mtime. Judged by
 * run.json (no pid file), only the exact `--supervise RUN` pair counts: run.json is
 * rewritten after its supervisor is gone (`--pause`, `--continue`, a stop), so its mtime
 * moves past a reused pid's start, and a `--foreground` launch's argv does not name the
 * run: any other run's foreground launch on that pid would pass for this run's supervisor.
 */
export function isRunSupervisor(pid: number | null | undefined, runDir: string, sinceMs?: number | null): boolean {
  if (!pid || !pidAlive(pid)) return false;
  const argv = argvOf(pid);
  // no /proc (not Linux): a live pid is all that can be known
  if (argv === null) return true;
  const pidFileMs = sinceMs ?? mtimeOf(join(runDir, 'supervisor.pid'));
  if (!supervisesArgv(argv, runDir, pidFileMs !== null)) return false;
  const since = pidFileMs ?? mtimeOf(join(runDir, 'run.json'));
  const started = processStartMs(pid);
  return since === null || started === null || started <= since + SLACK_MS;
}

/** The pid a run's supervisor.pid names (its first line), or null. */
export function readPidFile(runDir: string): number | null {
  try {
    const n = Number.parseInt(readFileSync(join(runDir, 'supervisor.pid'), 'utf8'), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** run.json's `pid` (a whole number above 0), or null: missing, damaged, or none recorded. */
function manifestPidOf(runDir: string): number | null {
  try {
    const pid = (JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * The run's live supervisor, or null (none, gone, or a reused pid), judged by the pid of
 * core's one rule (run-liveness.ts `runSupervisorPid`): supervisor.pid's, else run.json's,
 * so that a live supervisor whose supervisor.pid was removed still holds back `capi-merge
 * --clean` and `capi-split --force` from the run's files, as capi-launch and capi-watch see it.
 */
export function liveSupervisorOf(runDir: string): number | null {
  const fromFile = readPidFile(runDir);
  const { pid, alive } = supervisorBy(runDir, fromFile, fromFile === null ? manifestPidOf(runDir) : null);
  return alive ? pid : null;
}

/**
 * The run's supervisor from the pids a caller read itself: `pidFilePid` (supervisor.pid's,
 * read first), else `manifestPid` (run.json's, read after it), by core's one pid rule
 * (`runSupervisorPid`), and whether it is alive by the identity check (`isRunSupervisor`).
 * `liveSupervisorOf` reads both files itself; capi-launch reads run.json through its checked
 * reader, and again under run.json.lock where it decides a second time before it writes.
 */
export function supervisorBy(
  runDir: string,
  pidFilePid: number | null,
  manifestPid: number | null | undefined,
): { pid: number | null; alive: boolean } {
  const pid = runSupervisorPid(pidFilePid, manifestPid);
  return { pid, alive: isRunSupervisor(pid, runDir) };
}
