import type { LiveState } from './live-state.js';

/**
 * The in-flight window: at most `live.concurrency` tests at once, none while paused. The
 * feeding loop sleeps until a lane ends, a stop comes or a control change (`live.wake`).
 */
export interface Lanes {
  readonly running: number;
  hasRoom(): boolean;
  /** Runs `work` in a lane of its own; its failure goes to `failed`, then the lane is free. */
  start(work: () => Promise<unknown>, failed: (err: unknown) => void): void;
  /** Resolves once `ok()` holds, looking again each time the loop is woken. */
  waitUntil(ok: () => boolean): Promise<void>;
  wake(): void;
}

export function createLanes(live: LiveState): Lanes {
  let running = 0;
  let wakeLoop: (() => void) | null = null;
  const wake = () => {
    const w = wakeLoop;
    wakeLoop = null;
    w?.();
  };
  live.wake = wake;
  const end = () => {
    running--;
    wake();
  };
  // One promise per test for the lane (a `then` on the work's), not an async wrapper and a
  // `catch` (issue 16).
  const lane = (work: () => Promise<unknown>, failed: (err: unknown) => void) =>
    work().then(end, (err: unknown) => {
      try {
        failed(err);
      } finally {
        end();
      }
    });
  return {
    get running() {
      return running;
    },
    hasRoom: () => running < live.concurrency && !live.paused,
    start(work, failed) {
      running++;
      void lane(work, failed);
    },
    async waitUntil(ok) {
      while (!ok())
        await new Promise<void>((resolve) => {
          wakeLoop = resolve;
        });
    },
    wake,
  };
}
