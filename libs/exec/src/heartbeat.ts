import { utimesSync } from 'node:fs';
import { FILE_MODE, type StatusHeartbeat, writeFileAtomicSync } from '@capi/core';
import type { LiveState } from './live-state.js';

/**
 * status/<batch>.json (docs/run-folder.md): replaced atomically at most once a second
 * while the run goes, and once at the end. Only ids and counts: never test data.
 */
export interface Heartbeat {
  /** Writes now, with the state given (the last write of a run). */
  final(): Promise<void>;
}

export function snapshot(live: LiveState, batch: string | null): StatusHeartbeat {
  const paused = live.apiPausedUntil();
  return {
    state: live.state,
    batch,
    total: live.total,
    done: live.done + live.resumed,
    passed: live.passed,
    failed: live.failed,
    errors: live.errors,
    skipped: live.skipped,
    teardownFailed: live.teardownFailed,
    inFlight: [...live.inFlight],
    rate: Math.round(live.rate * 10) / 10,
    pausedUntil: paused === null ? null : new Date(paused).toISOString(),
    pid: process.pid,
    startedAt: new Date(live.startedAt).toISOString(),
    updatedAt: new Date().toISOString(),
  };
}

/**
 * A heartbeat that cannot be written does not stop the tests: `warn` is told once (a line
 * naming the path and why), and the run goes on and ends by its verdict.
 */
export function startHeartbeat(
  path: string,
  live: LiveState,
  batch: string | null,
  warn: (line: string) => void,
  everyMs = 1000,
): Heartbeat {
  let warned = false;
  // Synchronous, on the main thread: a worker writes it twice per batch of 100 tests, and
  // each fs/promises step (lstat, open, write, close, rename) was a thread-pool round trip.
  const write = () => {
    const text = `${JSON.stringify(snapshot(live, batch))}\n`;
    try {
      // no fsync: it is rewritten every second and means nothing after a power cut
      writeFileAtomicSync(path, text, FILE_MODE, { sync: false });
    } catch (err) {
      // Still alive for whoever watches the file's time (capi-launch's stall watchdog):
      // a full disk refuses a new file but not a new time on the old one.
      const now = new Date();
      try {
        utimesSync(path, now, now);
      } catch {}
      if (warned) return;
      warned = true;
      const e = err as { code?: string; message?: string };
      warn(`warning: cannot write the heartbeat ${path} (${e.code ?? e.message ?? String(err)}); the tests go on`);
    }
  };
  const timer = setInterval(write, everyMs);
  timer.unref();
  write();
  return {
    async final() {
      clearInterval(timer);
      write();
    },
  };
}
