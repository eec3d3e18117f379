import { pidAlive, processStartMs } from '@capi/core';
import type { Snapshot } from './snapshot.js';

/**
 * Asks the run to stop: SIGTERM to its supervisor (or to a bare capi-exec), which both
 * treat as a graceful stop: in-flight tests finish, the journal is flushed, the run is
 * marked stopped and can be resumed. The snapshot's `pidAlive` went through core's
 * supervisor identity check (run-reader.ts); a process that started after that snapshot
 * was taken holds a reused pid and is never signalled.
 */
export function stopRun(s: Pick<Snapshot, 'pid' | 'pidAlive' | 'ended' | 'at'>): string {
  if (s.ended) return 'the run has already ended';
  if (s.pid === null) return 'no supervisor pid known: nothing to stop';
  const started = processStartMs(s.pid);
  const reused = started !== null && started > Date.parse(s.at) + 1000;
  if (s.pidAlive === false || !pidAlive(s.pid) || reused)
    return `pid ${s.pid} is gone (or is not the run's own process): nothing to stop`;
  try {
    process.kill(s.pid, 'SIGTERM');
    return `stop requested (SIGTERM to pid ${s.pid}); in-flight tests finish first`;
  } catch (err) {
    return `could not stop pid ${s.pid}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
}
