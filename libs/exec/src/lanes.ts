import type { LiveState } from './live-state.js';

/**
 * The in-flight window: at most `live.concurrency` tests at once, none while paused. The
 * feeding loop sleeps until a lane ends, a stop comes or a control change (`live.wake`).
 */
export interface Lanes {
  readonly running: number;
  hasRoom(): boolean;
  /** Runs `work` in a lane of its own; `work` handles its own errors. */
  start(work: () => Promise<void>): void;
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
  const lane = async (work: () => Promise<void>) => {
    try {
      await work();
    } finally {
      running--;
      wake();
    }
  };
  return {
    get running() {
      return running;
    },
    hasRoom: () => running < live.concurrency && !live.paused,
    start(work) {
      running++;
      void lane(work);
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
