import type { TestRecord } from '@capi/core';
import { timerMs } from './backoff.js';
import type { Phases, RunRow } from './phases.js';
import type { Outcome } from './result.js';

/**
 * Re-login (docs/capi-exec.md "Flows"). A test answered with a `--reauth-on` status that
 * it did not expect, in a process with setup rows, makes the setup rows run again: once
 * for all lanes (a lane that meets the same status meanwhile waits for that re-login and
 * reuses it), while no new test starts. The test is then sent once more. A setup capture
 * `expires_in` (seconds) runs the setup again at 90 % of it, before the token expires.
 */
export interface Reauth {
  /** Runs the setup (the first time, and at each re-login); true when it succeeded. */
  renew(seenGeneration: number): Promise<boolean>;
  /** While a re-login runs: resolves when it is over. Null when none runs. */
  ready(): Promise<unknown> | null;
  busy(): boolean;
  /** Whether this outcome asks for a re-login and one more try. */
  wants(rec: TestRecord, o: Outcome): boolean;
  /** Re-logins after the first setup. */
  readonly count: number;
  dispose(): void;
}

/** `--reauth-on`'s default. */
export const DEFAULT_REAUTH_ON: ReadonlySet<number> = new Set([401]);

/** The share of `expires_in` after which the setup runs again. */
export const EXPIRY_SHARE = 0.9;

export interface ReauthParts {
  phases: Phases;
  run: RunRow;
  statuses: ReadonlySet<number>;
  warn?: (line: string) => void;
  /** Called when a setup run ends (the reader may start tests again). */
  onSettled?: () => void;
}

export function createReauth({ phases, run, statuses, warn, onSettled }: ReauthParts): Reauth {
  let pending: Promise<boolean> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let count = 0;
  let disposed = false;
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    const said = phases.values.expires_in;
    if (said === undefined || disposed) return;
    const seconds = Number(said);
    if (!Number.isFinite(seconds) || seconds <= 0) {
      warn?.(`warning: the setup capture expires_in is not a number of seconds (${JSON.stringify(said.slice(0, 20))})`);
      return;
    }
    const generation = phases.generation;
    timer = setTimeout(() => void renew(generation), timerMs(seconds * 1000 * EXPIRY_SHARE));
    timer.unref();
  };
  const renew = (seen: number): Promise<boolean> => {
    if (phases.generation !== seen || phases.failure !== null) return Promise.resolve(phases.failure === null);
    if (!pending) {
      if (seen > 0) count++;
      pending = phases.runSetup(run).finally(() => {
        pending = null;
        onSettled?.();
      });
      void pending.then((ok) => ok && schedule());
    }
    return pending;
  };
  return {
    renew,
    ready: () => pending,
    busy: () => pending !== null,
    wants: (rec, o) =>
      statuses.size > 0 &&
      phases.setup.length > 0 &&
      rec.phase !== 'setup' &&
      o.status === 'failed' &&
      o.response !== null &&
      statuses.has(o.response.status),
    get count() {
      return count;
    },
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
