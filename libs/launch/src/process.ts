import { setTimeout as sleep } from 'node:timers/promises';
import { argvOf, isRunSupervisor, pidAlive, processParents } from '@capi/core';

/** The `isAlive` marker of a run's supervisor: core's `isRunSupervisor`, the one identity check. */
const SUPERVISOR_OF = '\0supervisor\0';
export const supervisorOf = (runDir: string) => `${SUPERVISOR_OF}${runDir}`;

/**
 * THE check for "a capi-exec worker of this run": a live process (a zombie is gone) whose
 * argv holds the exact pair `--run-id <runId>`, as every worker is started (worker.ts).
 * A pid can be reused by an unrelated process after a crash, and a substring of the
 * command line also matches run `<runId>_2` or `tail -f RUN/logs/…`: neither is ours, and
 * neither may be signalled. Where /proc is missing, a live pid is all that can be known.
 */
export function isWorkerOf(pid: number | null | undefined, runId: string): boolean {
  if (!pid || !pidAlive(pid)) return false;
  const argv = argvOf(pid);
  if (argv === null) return true;
  for (let i = 0; i + 1 < argv.length; i++) if (argv[i] === '--run-id' && argv[i + 1] === runId) return true;
  return false;
}

/**
 * Is `pid` alive, and what is it: with no marker, any live process; with
 * `supervisorOf(runDir)`, that run's supervisor (`isRunSupervisor`); with a run id, a worker of that run
 * (`isWorkerOf`, the exact `--run-id` pair). One entry point, so that every "is this our
 * worker" question gets the same answer.
 */
export function isAlive(pid: number | null | undefined, marker?: string): boolean {
  if (marker === undefined) return !!pid && pidAlive(pid);
  if (marker.startsWith(SUPERVISOR_OF)) return isRunSupervisor(pid, marker.slice(SUPERVISOR_OF.length));
  return isWorkerOf(pid, marker);
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILL to `pid` and every process under it. A `--hosts` run's claims hold GNU parallel's
 * keeper (remote-attempt.ts), and GNU parallel runs each job (its ssh) in a process group of
 * its own: a SIGKILL of the keeper alone leaves GNU parallel and its ssh jobs running, and
 * with them the remote capi-exec workers. Taken whole, the ssh connections drop and GNU
 * parallel's remote wrapper ends each remote worker. (Where there is no /proc, `pid` alone.)
 */
export function killTree(pid: number): void {
  const up = processParents();
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of up) if (parent === tree[i]) tree.push(child);
  // the parent first, so that none of it starts another child meanwhile
  for (const p of tree) signal(p, 'SIGKILL');
}

/** Waits until none of `pids` is alive (`isAlive` with `marker`), up to `timeoutMs`; returns whether they are gone. */
export async function waitGone(pids: number[], timeoutMs: number, marker?: string): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pids.every((p) => !isAlive(p, marker))) return true;
    await sleep(100);
  }
  return pids.every((p) => !isAlive(p, marker));
}
