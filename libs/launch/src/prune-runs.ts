import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkRunsFolder, pathExists, randomHex } from '@capi/core';
import { liveWorkers, readClaims } from './claims.js';
import { holdingLaunch, noManifestNote, notLeftByLaunch } from './launch-lock.js';
import { holdingManifest, lookAtRun } from './manifest.js';
import { damagedNote, isFinished, isNeverStarted, listRuns, runFoldersWithoutManifest } from './runs.js';

export interface PrunedRun {
  id: string;
  /** Why it goes: finished beyond `keep`, never started, or a folder without run.json. */
  why: 'finished' | 'never started' | 'no run.json';
}

type Picked = { dir: string; why: PrunedRun['why'] };

/**
 * What a finished run's folder is renamed to as `--prune` takes it out (`.pruned-ID-…`, in
 * the runs folder), to be removed once the launch lock is let go; one a killed `--prune`
 * left is removed by the next.
 */
const PRUNED_PREFIX = '.pruned-';

/**
 * Removes finished (completed or failed) runs, oldest first, keeping the newest `keep`,
 * and, whatever `keep`, runs that never started and run folders without run.json. Live and
 * stopped (resumable) runs stay. Those are picked and taken out holding the runs folder's
 * launch lock, so the folder of a launch under way is never taken for one whose launch
 * died; each run is looked at again holding its run.json.lock before it goes, so one a
 * supervisor took since the pick (a resume's, a late one of a killed launch) stays. With
 * `dryRun` it only names the runs it would remove.
 */
export async function pruneRuns(
  runs: string,
  keep: number,
  dryRun = false,
  notes: (t: string) => void = () => {},
): Promise<PrunedRun[]> {
  checkRunsFolder(runs);
  if (!(await pathExists(runs))) return [];
  const taken = await holdingLaunch(runs, notes, async () => {
    const picked = await pickRuns(runs, keep, notes);
    return dryRun ? { gone: picked, aside: [] } : takeOut(runs, picked, notes);
  });
  if (!dryRun) {
    // set aside under the launch lock, removed after it: a large run folder does not hold up a launch
    for (const dir of taken.aside) await rm(dir, { recursive: true, force: true });
    const latest = await stat(join(runs, 'latest')).catch(() => null);
    if (!latest) await rm(join(runs, 'latest'), { force: true });
  }
  return taken.gone.map((p) => ({ id: basename(p.dir), why: p.why }));
}

/** The runs `--prune` removes, oldest first (see pruneRuns). */
async function pickRuns(runs: string, keep: number, notes: (t: string) => void): Promise<Picked[]> {
  const all = await listRuns(runs, (err) => notes(damagedNote(err, 'kept')));
  const finished = all.filter(isFinished);
  return [
    ...finished.slice(0, Math.max(0, finished.length - keep)).map((e) => ({ dir: e.dir, why: 'finished' as const })),
    ...all.filter(isNeverStarted).map((e) => ({ dir: e.dir, why: 'never started' as const })),
    ...(await foldersLeftByLaunches(runs, notes)).map((dir) => ({ dir, why: 'no run.json' as const })),
  ].sort((a, b) => (basename(a.dir) < basename(b.dir) ? -1 : 1));
}

/**
 * Under the launch lock: those whose capi-launch died removed (a launch after it must not
 * find them half removed), the finished ones set aside (`aside`: with those a killed
 * `--prune` left, for removal after the lock). `gone`: those taken out.
 */
async function takeOut(
  runs: string,
  picked: Picked[],
  notes: (t: string) => void,
): Promise<{ gone: Picked[]; aside: string[] }> {
  const gone: Picked[] = [];
  const aside = await leftAside(runs);
  for (const p of picked) {
    if (p.why === 'finished') {
      const to = await setAsideIfFinished(p.dir, notes);
      if (!to) continue;
      aside.push(to);
    } else if (p.why === 'never started') {
      if (!(await removeIfNeverStarted(p.dir))) continue;
    } else await rm(p.dir, { recursive: true, force: true });
    gone.push(p);
  }
  return { gone, aside };
}

/** Run folders a killed `--prune` set aside and did not remove. */
async function leftAside(runs: string): Promise<string[]> {
  const names = await readdir(runs).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(PRUNED_PREFIX)).map((n) => join(runs, n));
}

/**
 * A finished run's folder renamed aside (its removal follows), looked at again holding its
 * run.json.lock: a resume's supervisor takes a run under that lock (supervise.ts `takeRun`),
 * so one that has taken it since the pick keeps it (said in `notes`), and one that comes
 * after finds no run. Null: kept.
 */
async function setAsideIfFinished(dir: string, notes: (t: string) => void): Promise<string | null> {
  return holdingManifest(dir, async () => {
    const look = await lookAtRun(dir).catch(() => null);
    if (!look) return null;
    if (!isFinished(look)) {
      const now = look.alive ? `supervisor ${look.pid} has taken it` : `it is ${look.manifest.state}`;
      notes(`${look.manifest.id}: kept: ${now} since --prune picked it`);
      return null;
    }
    const aside = join(dirname(dir), `${PRUNED_PREFIX}${basename(dir)}-${randomHex(4)}`);
    await rename(dir, aside);
    return aside;
  });
}

/**
 * The run folders without run.json that a capi-launch left (`notLeftByLaunch`): the others,
 * made or copied there by hand with a run's name, are named in `notes` and left alone.
 */
async function foldersLeftByLaunches(runs: string, notes: (t: string) => void): Promise<string[]> {
  const left: string[] = [];
  for (const dir of await runFoldersWithoutManifest(runs)) {
    const why = await notLeftByLaunch(dir);
    if (why) notes(noManifestNote(dir, false, why));
    else left.push(dir);
  }
  return left;
}

/**
 * Removes a run that never started, looked at again holding its run.json.lock: the late
 * supervisor of a killed capi-launch takes a `created` run under that lock (supervise.ts
 * `takeRun`), so it has either written supervisor.pid before this look (the run is left)
 * or finds the folder gone and takes nothing. False: it was taken meanwhile.
 */
async function removeIfNeverStarted(dir: string): Promise<boolean> {
  return holdingManifest(dir, async () => {
    const look = await lookAtRun(dir).catch(() => null);
    if (look?.manifest.state !== 'created' || look.alive) return false;
    if (liveWorkers(await readClaims(dir), look.manifest.id).length > 0) return false;
    await rm(dir, { recursive: true, force: true });
    return true;
  });
}
