import { setTimeout as sleep } from 'node:timers/promises';
import type { TestRecord } from '@capi/core';
import { monotonicMs } from '@capi/core';
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
  /**
   * No more re-logins ahead of expiry (the tests are over); one already running is waited
   * for, and one still waiting out MIN_RELOGIN_MS does not start: nothing is recorded after
   * the engine ends (the journal is closed then). A `--reauth-on` status still renews (teardown).
   */
  dispose(): Promise<void>;
}

/** `--reauth-on`'s default. */
export const DEFAULT_REAUTH_ON: ReadonlySet<number> = new Set([401]);

/** The share of `expires_in` after which the setup runs again. */
export const EXPIRY_SHARE = 0.9;

/**
 * Two setup runs start at least this far apart, whatever asks for the second: an
 * `expires_in` of 0.001 s, or an API that answers 401 to a token it has just issued, could
 * otherwise make the process log in again and again.
 */
export const MIN_RELOGIN_MS = 1000;

export interface ReauthParts {
  phases: Phases;
  run: RunRow;
  statuses: ReadonlySet<number>;
  warn?: (line: string) => void;
  /** Called when a setup run ends (the reader may start tests again). */
  onSettled?: () => void;
  /** Aborted at a stop: a re-login waiting out MIN_RELOGIN_MS is then cut (not a failure). */
  stopped?: AbortSignal;
}

/**
 * The re-login delay an `expires_in` asks for, in ms (null: none), and what to warn. The
 * warning names the field only, never its value: a setup capture is a secret, and a
 * hostile API may put anything there (its token).
 */
export function expiryDelay(said: string): { ms: number | null; warning: string | null } {
  const text = said.trim();
  const seconds = /^[+]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0)
    return {
      ms: null,
      warning:
        'warning: the setup capture expires_in is not a positive number of seconds; no re-login ahead of expiry (a --reauth-on status still logs in again)',
    };
  const ms = seconds * 1000 * EXPIRY_SHARE;
  if (ms < MIN_RELOGIN_MS)
    return {
      ms: MIN_RELOGIN_MS,
      warning: `warning: the setup capture expires_in is under ${MIN_RELOGIN_MS / 1000 / EXPIRY_SHARE} s; logging in again at most once every ${MIN_RELOGIN_MS / 1000} s`,
    };
  return { ms: timerMs(ms), warning: null };
}

/**
 * Long as a whole, short in its parts: `schedule` and `renew` are small closures over one
 * run's pending setup, timer, last setup time and warnings.
 */
export function createReauth({ phases, run, statuses, warn, onSettled, stopped }: ReauthParts): Reauth {
  let pending: Promise<boolean> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let count = 0;
  let disposed = false;
  let lastEnded = Number.NEGATIVE_INFINITY;
  // Each warning once per process: a re-login every second must not write a line each time.
  const warned = new Set<string>();
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    const said = phases.values.expires_in;
    if (said === undefined || disposed) return;
    const { ms, warning } = expiryDelay(said);
    if (warning && !warned.has(warning)) {
      warned.add(warning);
      warn?.(warning);
    }
    if (ms === null) return;
    const generation = phases.generation;
    timer = setTimeout(() => void renew(generation, true), ms);
    timer.unref();
  };
  /** Runs the setup once MIN_RELOGIN_MS has passed since the last one ended; false when a stop cut the wait. */
  const setupAfterFloor = async (seen: number, ahead: boolean): Promise<boolean> => {
    const waitMs = lastEnded + MIN_RELOGIN_MS - monotonicMs();
    if (waitMs > 0) {
      const waited = await sleep(timerMs(waitMs), true, { signal: stopped }).catch(() => false);
      if (!waited) return false;
    }
    // A re-login ahead of expiry that waited past the end of the tests is of no use.
    if (ahead && disposed) return phases.failure === null;
    if (seen > 0) count++;
    return phases.runSetup(run);
  };
  const renew = (seen: number, ahead = false): Promise<boolean> => {
    if (phases.generation !== seen || phases.failure !== null) return Promise.resolve(phases.failure === null);
    if (!pending) {
      pending = setupAfterFloor(seen, ahead).finally(() => {
        lastEnded = monotonicMs();
        pending = null;
        onSettled?.();
      });
      void pending.then((ok) => ok && schedule());
    }
    return pending;
  };
  return {
    renew: (seen) => renew(seen),
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
    async dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
      if (pending) await pending;
    },
  };
}
