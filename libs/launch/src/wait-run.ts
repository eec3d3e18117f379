import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode } from '@capi/core';
import { exitCodeOf } from './finish.js';
import { type Manifest, readManifest, supervisedNow } from './manifest.js';
import { type RunSummary, summarizeRun } from './summarize-run.js';

/**
 * The run has ended: its supervisor is gone and run.json `m` says more than `created`. The
 * supervisor is judged by core's one pid (supervisor.pid, else `m`'s `pid`; manifest.ts
 * `lookAtRun`): a live supervisor whose supervisor.pid was removed has not ended its run.
 */
export function runOver(m: Pick<Manifest, 'state' | 'pid'> | null, runDir: string): boolean {
  return !!m && m.state !== 'created' && !supervisedNow(runDir, m);
}

export interface WaitOptions {
  /** Called about every `everyMs` with the current numbers, and once at the end. */
  onTick?: (s: RunSummary) => void;
  everyMs?: number;
  limitMs?: number;
}

/** Waits until the run has ended (its supervisor gone) and returns its exit code. */
export async function waitRun(runDir: string, o: WaitOptions = {}): Promise<number> {
  const everyMs = o.everyMs ?? 5000;
  const deadline = Date.now() + (o.limitMs ?? 7 * 24 * 3600_000);
  let next = 0;
  while (Date.now() < deadline) {
    // liveness is cheap and looked at often; the numbers (journals) only every `everyMs`
    const m = await readManifest(runDir);
    const over = runOver(m, runDir);
    if (over || Date.now() >= next) {
      o.onTick?.(await summarizeRun(runDir));
      next = Date.now() + everyMs;
    }
    if (over) {
      // read again: the end may have been written after the look above
      const end = await readManifest(runDir);
      // The supervisor may have died without writing its end: that is not a verdict.
      if (end.state === 'running') return ExitCode.cannotRun;
      return exitCodeOf(end);
    }
    await sleep(250);
  }
  return ExitCode.cannotRun;
}
