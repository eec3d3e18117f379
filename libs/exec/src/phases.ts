import type { ResultStatus, TestRecord } from '@capi/core';
import { captureBag } from './capture.js';

/**
 * Setup and teardown rows (docs/capi-exec.md "Flows"). Setup rows run one at a time in
 * input order before any test of the process, and again at every re-login (reauth.ts);
 * their captures are seen by every row. Teardown rows run one at a time at the end, also
 * after a stop, seeing the setup captures and those of earlier teardown rows. A setup row
 * that fails or errors ends the setup: nothing else is sent (SETUP_FAILED).
 */

/** What running one row gave: its status and captures; null when a stop cut it. */
export type RowRun = { status: ResultStatus; captured?: Record<string, string> } | null;

/**
 * Runs one row seeing `captures`, records its result, and says how it ended. `fresh` gives
 * the captures again after a re-login (a teardown row sent with an expired token).
 */
export type RunRow = (
  rec: TestRecord,
  captures: Record<string, string>,
  fresh?: () => Record<string, string>,
) => Promise<RowRun>;

export interface Phases {
  readonly setup: readonly TestRecord[];
  readonly teardown: readonly TestRecord[];
  addSetup(rec: TestRecord): void;
  addTeardown(rec: TestRecord): void;
  /** The captures of the last setup that succeeded. */
  readonly values: Record<string, string>;
  /** Successful setups so far (0: none yet): a lane that saw an older one knows a re-login happened. */
  readonly generation: number;
  /** The SETUP_FAILED message once a setup failed, else null. */
  readonly failure: string | null;
  /** Runs every setup row; true when all passed (the new values are then in force). */
  runSetup(run: RunRow): Promise<boolean>;
  /** Runs every teardown row; `notSent` records one when setup failed. */
  runTeardown(run: RunRow, notSent: (rec: TestRecord, message: string) => Promise<void>): Promise<void>;
}

const ended = (status: ResultStatus) => (status === 'failed' ? 'failed' : 'ended in an error');

export function createPhases(): Phases {
  // Plain data: the readonly fields of Phases are written here alone.
  const self = {
    setup: [] as TestRecord[],
    teardown: [] as TestRecord[],
    values: captureBag(),
    generation: 0,
    failure: null as string | null,
    addSetup: (rec: TestRecord) => {
      self.setup.push(rec);
    },
    addTeardown: (rec: TestRecord) => {
      self.teardown.push(rec);
    },
    async runSetup(run: RunRow) {
      if (self.failure !== null) return false;
      // A setup row sees the captures of the setup rows before it in this same run.
      let taken = captureBag();
      for (const rec of self.setup) {
        const r = await run(rec, taken);
        if (r === null) return false;
        if (r.status === 'failed' || r.status === 'error') {
          self.failure = `not sent: setup row ${rec.id} ${ended(r.status)}`;
          return false;
        }
        taken = captureBag(taken, r.captured);
      }
      self.values = taken;
      self.generation++;
      return true;
    },
    async runTeardown(run: RunRow, notSent: (rec: TestRecord, message: string) => Promise<void>) {
      // The teardown rows' own captures, over the setup's values in force at each row (a
      // re-login between two teardown rows renews them).
      let own = captureBag();
      const seen = () => captureBag(self.values, own);
      for (const rec of self.teardown) {
        if (self.failure !== null) {
          await notSent(rec, self.failure);
          continue;
        }
        const r = await run(rec, seen(), seen);
        if (r === null) return;
        own = captureBag(own, r.captured);
      }
    },
  };
  return self;
}
