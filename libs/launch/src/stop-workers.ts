import { type Claim, liveWorkers, releaseStopped } from './claims.js';
import { describeError } from './describe-error.js';
import { execArg } from './exec-flag-list.js';
import { isWorkerOf, killTree, signal, waitGone } from './process.js';
import type { Supervision } from './run-batch.js';

/** How long stopping workers may take: capi-exec's `--grace` (default 10 s) and 10 s more, as `--stop` waits. */
export function stopGraceMs(execArgs: string[]): number {
  const grace = Number(execArg(execArgs, '--grace') ?? 10_000);
  return (Number.isFinite(grace) ? grace : 10_000) + 10_000;
}

/**
 * Workers left running by a supervisor that was killed: stopped before anyone resumes.
 * Only processes that are workers of this run (`liveWorkers`: the exact `--run-id ID`
 * pair in their argv) are signalled, never a reused pid or a `tail -f` of its logs.
 */
export async function stopOrphans(claims: readonly Claim[], runId: string, log: (t: string) => void): Promise<void> {
  const pids = liveWorkers(claims, runId);
  if (pids.length === 0) return;
  log(`stopping ${pids.length} worker(s) left by the previous supervisor: ${pids.join(', ')}`);
  for (const pid of pids) if (isWorkerOf(pid, runId)) signal(pid, 'SIGTERM');
  if (!(await waitGone(pids, 15_000, runId))) for (const pid of pids) if (isWorkerOf(pid, runId)) killTree(pid);
  await waitGone(pids, 5_000, runId);
}

/** A stop or a failure: no batch starts, and every wait of the supervisor ends now. */
export function halt(s: Supervision): void {
  s.stopping = true;
  s.halted.abort();
}

/**
 * The supervisor cannot go on: its workers are stopped, and waited for, before it lets go
 * of the run (the pid file): SIGTERM (in-flight tests finish, journals are flushed), the
 * slots' own ends awaited up to the grace, then SIGKILL for what is left. Then the claims
 * of the ended workers are released, so no batch looks taken by a worker that is gone, and
 * `letGo` is set: a slot that has not ended by then writes nothing more in the run.
 */
export async function stopWorkers(s: Supervision, slots: Promise<void>[]): Promise<void> {
  const id = s.manifest.id;
  halt(s);
  // early workers no slot took (a failure before the slots' first batches) are in no slot
  // nor in s.live: their stdin is closed now, and their ends awaited with the others'
  const unused = s.early.end();
  // a worker started just before the failure may have no slot awaiting it: s.live has it
  const pids = [...s.live];
  for (const pid of pids) signal(pid, 'SIGTERM');
  const graceMs = stopGraceMs(s.manifest.options.execArgs);
  const deadline = Date.now() + graceMs;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(slots),
    new Promise((resolve) => {
      timer = setTimeout(resolve, graceMs);
    }),
  ]);
  clearTimeout(timer);
  await unused;
  // a backstop: no slot starts a process once `halt` has run (run-batch.ts), but one in
  // s.live now that was not when `pids` was taken would be waited for as well
  for (const pid of s.live) if (!pids.includes(pid)) pids.push(pid);
  if (!(await waitGone(pids, Math.max(0, deadline - Date.now()), id))) {
    const left = pids.filter((p) => isWorkerOf(p, id));
    s.log(`workers did not stop within ${Math.round(graceMs / 1000)} s: killing ${left.join(', ')} with SIGKILL`);
    // the whole tree: a --hosts keeper's GNU parallel and ssh jobs too (process.ts killTree)
    for (const pid of left) killTree(pid);
    await waitGone(left, 5_000, id);
  }
  // From here the run is let go: a slot still under way (stuck on a slow disk past the
  // grace) writes and removes nothing in it, since a resume may take it as soon as it is
  s.letGo = true;
  try {
    const released = await releaseStopped(s.runDir, [...s.claims.values()], (pid) => isWorkerOf(pid, id));
    if (released.length > 0) s.log(`released the claims of ${released.join(', ')} for the resume`);
  } catch (e) {
    s.log(`could not release the claims: ${describeError(e)}`);
  }
}
