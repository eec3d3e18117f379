import { utimes } from 'node:fs/promises';
import { FILE_MODE, type StatusHeartbeat, writeFileAtomic } from '@capi/core';
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
  let writing: Promise<void> | null = null;
  let warned = false;
  const write = () => {
    const text = `${JSON.stringify(snapshot(live, batch))}\n`;
    // no fsync: it is rewritten every second and means nothing after a power cut
    writing = writeFileAtomic(path, text, FILE_MODE, { sync: false })
      .catch(async (err: unknown) => {
        // Still alive for whoever watches the file's time (capi-launch's stall watchdog):
        // a full disk refuses a new file but not a new time on the old one.
        const now = new Date();
        await utimes(path, now, now).catch(() => {});
        if (warned) return;
        warned = true;
        const e = err as { code?: string; message?: string };
        warn(`warning: cannot write the heartbeat ${path} (${e.code ?? e.message ?? String(err)}); the tests go on`);
      })
      .finally(() => {
        writing = null;
      });
    return writing;
  };
  const timer = setInterval(() => {
    if (!writing) void write();
  }, everyMs);
  timer.unref();
  void write();
  return {
    async final() {
      clearInterval(timer);
      while (writing) await writing;
      await write();
    },
  };
}
