import { appendFileSync } from 'node:fs';
import { FILE_MODE, runPaths } from '@capi/core';

export interface RunLogger {
  (text: string): void;
  /** From now on capi.log only: the terminal is gone (SIGHUP), or writing to it failed. */
  mute(): void;
}

/**
 * A run's log: logs/capi.log, and stderr when someone is looking. A closed terminal
 * makes writes to stderr fail (EIO, EPIPE); unhandled, that error would kill the
 * supervisor in the middle of its stop, so a failed write only turns the echo off.
 */
export function runLogger(runDir: string, echo: boolean): RunLogger {
  const file = runPaths(runDir).mainLog;
  let toStderr = echo;
  if (echo) process.stderr.on('error', () => (toStderr = false));
  const log = (text: string) => {
    const line = `${new Date().toISOString()} ${text}\n`;
    try {
      appendFileSync(file, line, { mode: FILE_MODE });
    } catch {
      // a full disk must not turn a log line into the supervisor's death; stderr may still be read
      if (!echo) process.stderr.write(line);
    }
    if (toStderr) process.stderr.write(line);
  };
  log.mute = () => {
    toStderr = false;
  };
  return log;
}
