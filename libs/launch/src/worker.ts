import { spawn } from 'node:child_process';
import { closeSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ExitCode, FILE_MODE, runPaths, SUPERVISOR_PID_ENV } from '@capi/core';
import type { LaunchOptions } from './manifest.js';
import { signal } from './process.js';
import { toolBin } from './tools.js';

/** How one batch ended: the code capi-exec answered for it, or how its process ended. */
export interface WorkerExit {
  pid: number | null;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The batch never started: its process ended, or gave up, before it came to it. */
  notStarted?: boolean;
}

export interface WorkerSpec {
  runDir: string;
  runId: string;
  worker: number;
  execBin: string;
  /** Flags given at launch (base URL, headers, timeouts...), passed on unchanged. */
  execArgs: string[];
  concurrency: number | null;
  env: NodeJS.ProcessEnv;
}

/** What every worker process of a run shares: all of a WorkerSpec but its slot. */
export type RunWorkerSpec = Omit<WorkerSpec, 'worker'>;

/**
 * The run's worker spec, from the launch options run.json keeps: built once per run, for
 * the processes a foreground launch starts during the split (early-workers.ts), the
 * supervisor's slots and `--dry-run`'s commands alike.
 */
export function runWorkerSpec(
  runDir: string,
  runId: string,
  options: Pick<LaunchOptions, 'execArgs' | 'concurrency'>,
  env: NodeJS.ProcessEnv,
): RunWorkerSpec {
  return {
    runDir,
    runId,
    execBin: toolBin('exec', env),
    execArgs: options.execArgs,
    concurrency: options.concurrency,
    env,
  };
}

/** The capi-exec command line of a worker slot's process (docs/run-folder.md, "Workers"). */
export function workerArgs(s: WorkerSpec): string[] {
  const p = runPaths(s.runDir);
  return [
    s.execBin,
    '--serve',
    p.dir,
    '--worker',
    String(s.worker),
    '--run-id',
    s.runId,
    '--control',
    p.control,
    ...(s.concurrency ? ['--concurrency', String(s.concurrency)] : []),
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

/** A worker slot's capi-exec process: it runs the batches it is given, one at a time. */
export interface Worker {
  pid: number | null;
  /** False once the process has ended: the slot starts a new one for its next batch. */
  alive(): boolean;
  /**
   * Sends one batch: it runs after those sent before it. Resolves with capi-exec's code for
   * it, or with the process's end (`notStarted` when it never came to this batch).
   */
  run(batch: string, total: number | null): Promise<WorkerExit>;
  /** No more batches: its stdin is closed, and it is awaited (killed past `limitMs`). */
  end(limitMs: number): Promise<WorkerExit>;
  exited: Promise<WorkerExit>;
}

/** A stop answered: the process ends after it, and is awaited so that no batch goes to it. */
const STOP_CODES: ReadonlySet<number> = new Set([ExitCode.sigint, ExitCode.sigterm]);

/**
 * Starts `capi-exec --serve RUN` for a worker slot: batches go in on its stdin, one JSON
 * line each, and their codes come back on its stdout; each batch's messages go to
 * logs/<batch>.log (capi-exec writes them there), the process's own stderr (a crash) to
 * logs/worker_K.log. Each worker gets its own process group: a terminal's SIGHUP or Ctrl-C
 * reaches the supervisor alone, which passes one SIGTERM on. capi-exec stops gracefully on
 * the first of SIGINT, SIGTERM or SIGHUP but quits at once on a second one, so a signal to
 * the whole group plus the supervisor's SIGTERM would cut the tests in flight; and the
 * supervisor, not the terminal, decides when its workers stop.
 */
export function startWorker(s: WorkerSpec): Worker {
  writeExecOptions(s);
  const log = openSync(runPaths(s.runDir).logFile(`worker_${s.worker}`), 'a', FILE_MODE);
  const child = spawn(process.execPath, workerArgs(s), {
    stdio: ['pipe', 'pipe', log],
    // the worker's parent from its first moment (capi-exec --serve's parent watch)
    env: { ...s.env, [SUPERVISOR_PID_ENV]: String(process.pid) },
    detached: true,
  });
  closeSync(log);
  const pid = child.pid ?? null;
  let ended: WorkerExit | null = null;
  const exited = new Promise<WorkerExit>((resolve) => {
    const done = (code: number | null, sig: NodeJS.Signals | null) => {
      ended ??= { pid, code, signal: sig };
      resolve(ended);
    };
    child.on('error', () => done(null, null));
    child.on('exit', done);
  });
  // a process that died before reading its request: the write fails, its end says how it went
  const stdin = child.stdin as NodeJS.WritableStream;
  stdin.on('error', () => {});
  // the batches sent and not yet answered, in the order capi-exec takes them
  type Waiting = { batch: string; done: (e: WorkerExit) => void };
  const waiting: Waiting[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    let answer: { batch?: unknown; code?: unknown } | null;
    try {
      answer = JSON.parse(line) as { batch?: unknown; code?: unknown } | null;
    } catch {
      return;
    }
    const at = waiting.findIndex((w) => w.batch === answer?.batch);
    const code = answer?.code;
    if (at === -1 || (typeof code !== 'number' && code !== null)) return;
    const [w] = waiting.splice(at, 1) as [Waiting];
    if (code === null) w.done({ pid, code: null, signal: null, notStarted: true });
    else if (STOP_CODES.has(code)) void exited.then(() => w.done({ pid, code, signal: null }));
    else w.done({ pid, code, signal: null });
  });
  void exited.then((e) => {
    // the first unanswered batch was running; those behind it never started
    for (const [k, w] of waiting.splice(0).entries()) w.done(k === 0 ? e : { ...e, notStarted: true });
  });
  return {
    pid,
    alive: () => ended === null,
    exited,
    run(batch, total) {
      if (ended) return Promise.resolve({ ...ended, notStarted: true });
      return new Promise<WorkerExit>((done) => {
        waiting.push({ batch, done });
        stdin.write(`${JSON.stringify({ batch, total })}\n`);
      });
    },
    async end(limitMs) {
      stdin.end();
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if (!ended && pid) signal(pid, 'SIGKILL');
          resolve();
        }, limitMs);
      });
      await Promise.race([exited, killed]);
      clearTimeout(timer);
      return exited;
    },
  };
}
