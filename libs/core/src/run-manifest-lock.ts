import { type ExclusiveFileOptions, withExclusiveFile } from './exclusive-file.js';
import { runPaths } from './run-folder.js';

/**
 * `fn` run holding a run's `run.json.lock` (docs/run-folder.md, "run.json"): capi-launch
 * writes run.json under it, and a supervisor takes a run under it (supervisor.pid, then
 * run.json). So whoever acts on a run it found without a live supervisor (capi-launch
 * clearing a stale pid file, `--stop`, `--prune`; `capi-merge --clean`) looks again holding
 * it, and acts only if that look still finds none: a supervisor that took the run since is
 * seen. A dead or stopped holder's lock is broken within 5 s; only a live one slowed by its
 * disk (which keeps its lock young) is waited for longer, up to a minute: the supervisor's
 * end must not give up on it. `o.onWait`: called as the wait begins (then every `o.noteMs`
 * of it, if given); `o.signal`: a stop the caller heard (a tool that handles SIGINT itself)
 * ends the wait, its reason thrown, the lock not taken.
 */
export function holdingRunManifest<T>(
  runDir: string,
  fn: () => Promise<T>,
  o: Pick<ExclusiveFileOptions, 'onWait' | 'noteMs' | 'signal'> = {},
): Promise<T> {
  const lock = `${runPaths(runDir).manifest}.lock`;
  return withExclusiveFile(lock, { waitMs: 60_000, staleMs: 5_000, ...o }, fn);
}
