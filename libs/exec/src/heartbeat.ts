import { type StatusHeartbeat, writeFileAtomic } from '@capi/core';
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
  return {
    state: live.state,
    batch,
    total: live.total,
    done: live.done + live.resumed,
    passed: live.passed,
    failed: live.failed,
    errors: live.errors,
    skipped: live.skipped,
    inFlight: [...live.inFlight],
    rate: Math.round(live.rate * 10) / 10,
    pid: process.pid,
    startedAt: new Date(live.startedAt).toISOString(),
    updatedAt: new Date().toISOString(),
  };
}

export function startHeartbeat(path: string, live: LiveState, batch: string | null, everyMs = 1000): Heartbeat {
  let writing: Promise<void> | null = null;
  let failed = false;
  const write = () => {
    const text = `${JSON.stringify(snapshot(live, batch))}\n`;
    writing = writeFileAtomic(path, text)
      .catch(() => {
        // A heartbeat that cannot be written must not stop the tests; the last one says so.
        failed = true;
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
      failed = false;
      await write();
      if (failed) throw new Error(`cannot write the heartbeat ${path}`);
    },
  };
}
