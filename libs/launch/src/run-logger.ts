import { closeSync, openSync, writeFileSync } from 'node:fs';
import { FILE_MODE, runPaths } from '@capi/core';

export interface RunLogger {
  (text: string): void;
  /** From now on capi.log only: the terminal is gone (SIGHUP), or writing to it failed. */
  mute(): void;
  /** Closes the log file (a later line opens it again). */
  close(): void;
}

/**
 * A log file appended to line after line: opened once (O_APPEND: other processes append
 * to the same file, each line lands whole at its end) instead of an open and a close per
 * line, which a supervisor paid four times per batch (docs/benchmarks.md "capi-launch,
 * fifth round"). A failed write closes it: the next line opens it afresh.
 */
export function appendLog(file: string): { write(text: string): void; close(): void } {
  let fd: number | null = null;
  const close = () => {
    if (fd === null) return;
    try {
      closeSync(fd);
    } catch {
      // nothing to keep
    }
    fd = null;
  };
  return {
    write(text) {
      try {
        fd ??= openSync(file, 'a', FILE_MODE);
        writeFileSync(fd, text);
      } catch (err) {
        close();
        throw err;
      }
    },
    close,
  };
}

/**
 * A run's log: logs/capi.log, and stderr when someone is looking. A closed terminal
 * makes writes to stderr fail (EIO, EPIPE); unhandled, that error would kill the
 * supervisor in the middle of its stop, so a failed write only turns the echo off.
 */
export function runLogger(runDir: string, echo: boolean): RunLogger {
  const file = appendLog(runPaths(runDir).mainLog);
  let toStderr = echo;
  if (echo) process.stderr.on('error', () => (toStderr = false));
  const log = (text: string) => {
    const line = `${new Date().toISOString()} ${text}\n`;
    try {
      file.write(line);
    } catch {
      // a full disk must not turn a log line into the supervisor's death; stderr may still be read
      if (!echo) process.stderr.write(line);
    }
    if (toStderr) process.stderr.write(line);
  };
  log.mute = () => {
    toStderr = false;
  };
  log.close = file.close;
  return log;
}
