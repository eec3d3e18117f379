import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { FILE_MODE, runPaths } from '@capi/core';
import { toolBin } from './tools.js';

/**
 * The run's capi-merge, started ahead of the run's end (`capi-merge RUN … --after-go`):
 * with the run's first batches, so that node's start-up, the loading of the merge's code
 * and the reading of the batch files and of each journal as its batch ends overlap the
 * tests instead of following the last one (a million tests: some 5 s of reading).
 * It reads the batch files and the journals as they are complete, then the rest after `go`, which the supervisor writes once every batch has answered
 * (capi-exec answers a batch once its journal is closed: every journal is whole) and the
 * journals are counted, while the workers' processes exit; output goes to logs/capi.log, as a merge started at the
 * end would. Its own process group, as the workers': a terminal's signal reaches the
 * supervisor alone. If the supervisor dies, the merge's stdin ends and it exits having
 * written nothing.
 */
export interface MergeAhead {
  /** Starts the merge now, once (later calls do nothing). */
  start(): void;
  /**
   * Lets the merge run and awaits it (killed past `timeoutMs`): its exit code, or
   * `'not started'` when there is no merge waiting (never started, it already ended, or a
   * signal not the run's ended it: the caller runs one the ordinary way).
   */
  go(timeoutMs: number): Promise<number | null | 'not started'>;
  /** The run does not end with a merge (stopped, failed): a waiting merge is killed, having written nothing. */
  cancel(): void;
  /**
   * A terminal's signal (SIGINT, SIGHUP) reached the supervisor: a merge already told to go
   * gets it too, as a merge in the supervisor's own process group would.
   */
  interrupt(sig: NodeJS.Signals): void;
}

export function mergeAhead(runDir: string, args: string[], env: NodeJS.ProcessEnv): MergeAhead {
  let child: ChildProcess | null = null;
  let ended = false;
  let cancelled = false;
  let told = false;
  let interrupted = false;
  let exited: Promise<number | null> = Promise.resolve(null);
  return {
    start() {
      if (child || cancelled) return;
      const fd = openSync(runPaths(runDir).mainLog, 'a', FILE_MODE);
      try {
        child = spawn(process.execPath, [toolBin('merge', env), runDir, ...args, '--after-go'], {
          stdio: ['pipe', fd, fd],
          env,
          detached: true,
        });
      } catch {
        return; // a head start only: the merge then starts at the end, and reports what fails there
      } finally {
        closeSync(fd);
      }
      const c = child;
      c.stdin?.on('error', () => {});
      exited = new Promise((resolve) => {
        c.on('error', () => {
          ended = true;
          resolve(null);
        });
        c.on('exit', (code) => {
          ended = true;
          resolve(code);
        });
      });
    },
    async go(timeoutMs) {
      const c = child;
      if (!c || ended || cancelled || !c.stdin) return 'not started';
      told = true;
      c.stdin.end('go\n');
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        c.kill('SIGKILL');
      }, timeoutMs);
      try {
        const code = await exited;
        // Ended by a signal not ours (the OOM killer, say, just before the go, its exit not yet
        // seen): it wrote no report (capi-merge puts its reports in place whole), so the caller
        // starts one the ordinary way.
        if (code === null && !timedOut && !interrupted) return 'not started';
        return code;
      } finally {
        clearTimeout(timer);
      }
    },
    cancel() {
      cancelled = true;
      // our own child, not yet reaped: its pid cannot have been reused
      if (child && !ended) child.kill('SIGKILL');
    },
    interrupt(sig) {
      if (!child || ended || !told) return;
      interrupted = true;
      child.kill(sig);
    },
  };
}
