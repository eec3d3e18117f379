import type { Snapshot } from './snapshot.js';

/**
 * Asks the run to stop: SIGTERM to its supervisor (or to a bare capi-exec), which both
 * treat as a graceful stop: in-flight tests finish, the journal is flushed, the run is
 * marked stopped and can be resumed.
 */
export function stopRun(s: Pick<Snapshot, 'pid' | 'pidAlive' | 'ended'>): string {
  if (s.ended) return 'the run has already ended';
  if (s.pid === null) return 'no supervisor pid known: nothing to stop';
  if (s.pidAlive === false) return `pid ${s.pid} is gone: nothing to stop`;
  try {
    process.kill(s.pid, 'SIGTERM');
    return `stop requested (SIGTERM to pid ${s.pid}); in-flight tests finish first`;
  } catch (err) {
    return `could not stop pid ${s.pid}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
}
