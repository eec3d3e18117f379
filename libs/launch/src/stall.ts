import { statSync } from 'node:fs';
import { runPaths } from '@capi/core';
import { execArg } from './exec-flag-list.js';
import type { LaunchOptions } from './manifest.js';

/** capi-exec's request timeout when `--timeout` is not given (docs/capi-exec.md). */
const EXEC_DEFAULT_TIMEOUT_MS = 30_000;

/**
 * How long a worker's heartbeat and journal may stand still before the supervisor calls
 * it stalled: `--stall-timeout` seconds (0: never), by default max(60 s, 10 × the request
 * timeout). capi-exec rewrites its heartbeat every second whatever its requests do, so
 * a heartbeat that stands still means a frozen process (stopped, a blocked event loop),
 * not a slow target; the margin is for a machine too busy to run it for a while.
 */
export function stallTimeoutMs(o: Pick<LaunchOptions, 'stallTimeoutS' | 'execArgs'>): number {
  if (o.stallTimeoutS !== undefined && o.stallTimeoutS !== null) return o.stallTimeoutS * 1000;
  const timeout = Number(execArg(o.execArgs, '--timeout') ?? EXEC_DEFAULT_TIMEOUT_MS);
  return Math.max(60_000, 10 * (Number.isFinite(timeout) ? timeout : EXEC_DEFAULT_TIMEOUT_MS));
}

const mtimeOf = (file: string) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
};

/**
 * Watches one worker: when neither its heartbeat nor its journal has moved for `limitMs`
 * since it started, `onStall` is called once (the supervisor kills it, and the batch goes
 * to a fresh worker like one that died). Returns the function that ends the watch.
 */
export function watchStall(runDir: string, batch: string, limitMs: number, onStall: () => void): () => void {
  if (limitMs <= 0) return () => {};
  const p = runPaths(runDir);
  const started = Date.now();
  const timer = setInterval(
    () => {
      const last = Math.max(started, mtimeOf(p.statusFile(batch)), mtimeOf(p.resultFile(batch)));
      if (Date.now() - last < limitMs) return;
      clearInterval(timer);
      onStall();
    },
    Math.min(5000, Math.max(100, limitMs / 4)),
  );
  return () => clearInterval(timer);
}
