import type { ServerState } from './context.js';

/** A timer the server clears on close, so close() never waits for a pending /delay. */
export function sleep(state: ServerState, ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      state.timers.delete(timer);
      resolve();
    }, ms);
    state.timers.add(timer);
  });
}
