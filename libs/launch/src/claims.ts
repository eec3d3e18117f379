import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DIR_MODE, FILE_MODE, runPaths, writeFileAtomicSync } from '@capi/core';
import { isWorkerOf } from './process.js';

/**
 * A worker's claim on a batch: `claims/batch_0001.json`, created with O_EXCL so two
 * workers can never take the same batch, holding the pid of the capi-exec that runs it.
 * The claim is rewritten when the batch ends (`done`: every test has a final result;
 * `failed`: given up), or when a fresh process takes it on (a restart).
 */
export interface Claim {
  batch: string;
  worker: number;
  pid: number | null;
  state: 'running' | 'done' | 'failed';
  restarts: number;
  exitCode: number | null;
  claimedAt: string;
  updatedAt: string;
}

const claimPath = (runDir: string, batch: string) => runPaths(runDir).claimFile(batch);

/**
 * Takes the first batch no one has claimed; null when every batch is taken. `from` is
 * where to start looking, moved past each batch found taken: a run of 10,000 batches
 * would otherwise try every claimed one again for each new claim (a quadratic cost).
 * `pid` is the capi-exec that is to run the batch, written in the claim as it is created
 * (one write per claim, not a create and then a replace). claims/ is made only when it is
 * missing (create-run.ts makes it): not a mkdir per batch.
 */
export async function claimNext(
  runDir: string,
  batches: string[],
  worker: number,
  from: { next: number } = { next: 0 },
  pid: number | null = null,
): Promise<Claim | null> {
  for (let i = from.next; i < batches.length; i++) {
    const batch = batches[i] as string;
    const now = new Date().toISOString();
    const claim: Claim = {
      batch,
      worker,
      pid,
      state: 'running',
      restarts: 0,
      exitCode: null,
      claimedAt: now,
      updatedAt: now,
    };
    if (createClaim(runDir, claim)) {
      from.next = Math.max(from.next, i + 1);
      return claim;
    }
    // every batch before this one is taken too: the next look starts after it
    if (i === from.next) from.next = i + 1;
  }
  return null;
}

/**
 * Creates the claim's file with O_EXCL: false when it exists (another slot took the batch).
 * Synchronous calls, as core's `writeFileAtomicSync` for files written often: a claim is a
 * few hundred bytes, and each fs/promises call is a hand-over to the thread pool and back
 * (a run of 1,000,000 tests makes 10,000 claims).
 */
function createClaim(runDir: string, claim: Claim): boolean {
  const file = claimPath(runDir, claim.batch);
  let fd: number;
  try {
    fd = openSync(file, 'wx', FILE_MODE);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT') throw err;
    // claims/ is missing: made once, then the claim is tried again
    mkdirSync(runPaths(runDir).claims, { recursive: true, mode: DIR_MODE });
    try {
      fd = openSync(file, 'wx', FILE_MODE);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw again;
    }
  }
  try {
    writeFileSync(fd, `${JSON.stringify(claim)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

export async function writeClaim(runDir: string, claim: Claim): Promise<void> {
  // no fsync: a claim lost to a power cut reads as unfinished, and its batch resumes from its journal;
  // synchronous calls, as createClaim's
  writeFileAtomicSync(
    claimPath(runDir, claim.batch),
    `${JSON.stringify({ ...claim, updatedAt: new Date().toISOString() })}\n`,
    FILE_MODE,
    { sync: false },
  );
}

/** Removes a batch's claim: a batch claimed ahead that did not start, for a later run to take. */
export async function releaseClaim(runDir: string, batch: string): Promise<void> {
  await rm(claimPath(runDir, batch), { force: true });
}

export async function readClaims(runDir: string): Promise<Claim[]> {
  let names: string[];
  try {
    names = await readdir(runPaths(runDir).claims);
  } catch {
    return [];
  }
  const claims: Claim[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const batch = name.slice(0, -'.json'.length);
    try {
      claims.push(JSON.parse(await readFile(join(runPaths(runDir).claims, name), 'utf8')) as Claim);
    } catch {
      // being written right now, or cut short by a crash between create and write
      claims.push({
        batch,
        worker: 0,
        pid: null,
        state: 'running',
        restarts: 0,
        exitCode: null,
        claimedAt: '',
        updatedAt: '',
      });
    }
  }
  return claims;
}

/**
 * Before a supervisor (re)starts a run: every claim (of `claims`, as read) that did not
 * end in `done` is released, so its batch is taken again and resumes from its journal.
 * Returns the released claims.
 */
export async function releaseUnfinished(runDir: string, claims: readonly Claim[]): Promise<Claim[]> {
  const unfinished = claims.filter((c) => c.state !== 'done');
  for (const c of unfinished) await rm(claimPath(runDir, c.batch), { force: true });
  return unfinished;
}

/**
 * After a stop: the claims (of `claims`, as read) still `running` whose worker has ended are released, so the
 * run reads as stopped (no batch looks taken) and a resume takes them again. `done` and
 * given-up (`failed`) claims stay. Returns the released batches.
 */
export async function releaseStopped(
  runDir: string,
  claims: readonly Claim[],
  alive: (pid: number) => boolean,
): Promise<string[]> {
  const released: string[] = [];
  for (const c of claims) {
    if (c.state !== 'running' || (c.pid && alive(c.pid))) continue;
    await rm(claimPath(runDir, c.batch), { force: true });
    released.push(c.batch);
  }
  return released;
}

/**
 * The run's capi-exec workers still alive: pids of its `running` claims that are workers
 * of the run (`isWorkerOf`: `--run-id ID` in their argv), so a reused pid never counts.
 * A supervisor killed with -9 leaves them running: such a run is not over. Each pid once:
 * a worker is handed its next batch before it ends the one it runs, so it can hold two.
 */
export function liveWorkers(claims: readonly Claim[], runId: string): number[] {
  const pids = new Set<number>();
  for (const c of claims) if (c.state === 'running' && isWorkerOf(c.pid, runId)) pids.add(c.pid as number);
  return [...pids];
}
