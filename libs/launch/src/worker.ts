import { spawn } from 'node:child_process';
import { closeSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { FILE_MODE, runPaths } from '@capi/core';

/** How one capi-exec process on one batch ended. */
export interface WorkerExit {
  pid: number | null;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WorkerSpec {
  runDir: string;
  runId: string;
  batch: string;
  worker: number;
  execBin: string;
  /** Flags given at launch (base URL, headers, timeouts...), passed on unchanged. */
  execArgs: string[];
  concurrency: number | null;
  /** Tests in the batch (batches/index.json), so the heartbeat can say done/total. */
  total: number | null;
  env: NodeJS.ProcessEnv;
}

/** The capi-exec command line of docs/run-folder.md for one batch. */
export function workerArgs(s: WorkerSpec): string[] {
  const p = runPaths(s.runDir);
  return [
    s.execBin,
    '--in',
    p.batchFile(s.batch),
    '--journal',
    p.resultFile(s.batch),
    '--status',
    p.statusFile(s.batch),
    '--batch',
    s.batch,
    '--worker',
    String(s.worker),
    '--run-id',
    s.runId,
    '--control',
    p.control,
    ...(s.concurrency ? ['--concurrency', String(s.concurrency)] : []),
    ...(s.total !== null ? ['--total', String(s.total)] : []),
    // the launch's capi-exec flags (headers may hold secrets) come from an owner-only file, never argv
    ...(s.execArgs.length > 0 ? ['--options-file', p.execOptions] : []),
  ];
}

/** Writes exec-options.json (0600, replaced whole) before a worker that reads it starts. */
function writeExecOptions(s: WorkerSpec): void {
  if (s.execArgs.length === 0) return;
  const file = runPaths(s.runDir).execOptions;
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(s.execArgs)}\n`, { mode: FILE_MODE });
  renameSync(tmp, file);
}

/**
 * Starts capi-exec on a batch: results go to the journal, stdout to nowhere, stderr to
 * logs/<batch>.log (appended, so a restarted worker's messages follow the dead one's).
 * Each worker gets its own process group: a terminal's SIGHUP or Ctrl-C reaches the
 * supervisor alone, which passes one SIGTERM on. capi-exec stops gracefully on the first
 * of SIGINT, SIGTERM or SIGHUP (exit 143/130) but quits at once on a second one, so a
 * signal to the whole group plus the supervisor's SIGTERM would cut the tests in flight;
 * and the supervisor, not the terminal, decides when its workers stop.
 */
export function startWorker(s: WorkerSpec): { pid: number | null; exited: Promise<WorkerExit> } {
  writeExecOptions(s);
  const log = openSync(runPaths(s.runDir).logFile(s.batch), 'a', FILE_MODE);
  const child = spawn(process.execPath, workerArgs(s), {
    stdio: ['ignore', 'ignore', log],
    env: s.env,
    detached: true,
  });
  closeSync(log);
  const pid = child.pid ?? null;
  const exited = new Promise<WorkerExit>((resolve) => {
    child.on('error', () => resolve({ pid, code: null, signal: null }));
    child.on('exit', (code, signal) => resolve({ pid, code, signal }));
  });
  return { pid, exited };
}
