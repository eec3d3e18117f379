import { setTimeout as sleep } from 'node:timers/promises';
import type { ResultStatus, TestRecord } from '@capi/core';
import { monotonicMs } from '@capi/core';
import { timerMs } from './backoff.js';
import { captureBag } from './capture.js';
import { createFlowLanes } from './flow-lanes.js';
import type { Lanes } from './lanes.js';
import type { LiveState } from './live-state.js';
import { createPhases, type RowRun, type RunRow } from './phases.js';
import { createReauth } from './reauth.js';
import type { RecordResult } from './record-result.js';
import type { Outcome } from './result.js';
import { runTest, type TestContext, type TestDone } from './run-one.js';
import type { RunStop } from './run-stop.js';

/**
 * How the engine runs rows with flows, setup and teardown (docs/capi-exec.md "Flows"):
 * which rows the reader hands to a lane, what a lane runs (a flow's rows one after
 * another, with one re-login and one more try on a `--reauth-on` status), and the
 * phases around the tests. Rows without flow fields go through as single tests.
 */

export interface FlowRunParts {
  ctx: TestContext;
  record: RecordResult;
  stop: RunStop;
  lanes: Lanes;
  live: LiveState;
  /** True when the test hit an unreachable target: not recorded (engine.ts, unreachable.ts). */
  unreachable: (done: TestDone) => boolean;
  delayMs: number;
  /** `--reauth-on`: statuses that make the process log in again. */
  reauthOn: ReadonlySet<number>;
  /** A context of its own for teardown after a stop (the run's client and limiter are closed then). */
  freshContext: () => { ctx: TestContext; close(): Promise<void> };
  warn?: (line: string) => void;
}

/** The reader holds at most this many rows of busy flows before it waits for lanes. */
export const MAX_HELD_ROWS = 10_000;

export interface FlowRun {
  /**
   * A record as it is read: true when it should start a lane (`lane`), false when handled.
   * A plain test once the setup ran is a plain true: no promise for most records.
   */
  take(rec: TestRecord): boolean | Promise<boolean>;
  /** The lane of a record `take` let start; for a test of no flow, its one row's promise. */
  lane(rec: TestRecord): Promise<unknown>;
  /** A teardown row read after a stop: kept to run at the end. */
  addTeardown(rec: TestRecord): void;
  /** No new test may start (a re-login runs). */
  holding(): boolean;
  /** After the input: the setup if it has not run yet. */
  inputEnded(): Promise<void>;
  /**
   * Every record has been read and started: a plain test's `--delay` ends, since no test
   * of this input starts after it on its lane (`--serve` pays the rest before its next
   * batch: `pauseOwedUntil`). Not with teardown rows (they follow), nor between a flow's rows.
   */
  allStarted(): void;
  /** After every lane: the teardown rows. */
  finish(): Promise<void>;
  /**
   * When the `--delay` after the last plain test to end would end (monotonicMs() time),
   * or null: none was begun. `allStarted` cuts that pause (no test follows here); `--serve`
   * pays what is left of it before its next batch, if one comes.
   */
  readonly pauseOwedUntil: number | null;
  readonly cut: number;
  readonly setupFailed: string | null;
  readonly relogins: number;
}

export const notSentOutcome = (code: string, message: string): Outcome => ({
  status: 'error',
  attempts: 0,
  startedAt: Date.now(),
  durationMs: 0,
  response: null,
  failures: [],
  error: { code, message },
});

/**
 * Long as a whole, short in its parts: `runOne`, `lane`, `take` and `finish` are small
 * inner functions that share one run's flow lanes, phases, re-login and cut count; as
 * module functions each would take that state as a bag of arguments.
 */
export function createFlowRun(parts: FlowRunParts): FlowRun {
  const { ctx, record, stop, lanes, live } = parts;
  const flows = createFlowLanes();
  const phases = createPhases();
  let cut = 0;
  let setupRan = false;
  const runWith =
    (c: TestContext): RunRow =>
    async (rec, captures): Promise<RowRun> => {
      const done = await runTest(rec, { ...c, captures });
      if (done === null) return null;
      await record(rec, done.outcome, done.secrets);
      return { status: done.outcome.status, captured: done.outcome.captured };
    };
  /**
   * A teardown row: like a test, one re-login and one more try on a `--reauth-on` status
   * (the token of a long run may have expired by the end, and a failed teardown fails the
   * run). Not after a stop: the run's own client is closed then, so its answer stands.
   */
  const teardownWith =
    (c: TestContext): RunRow =>
    async (rec, captures, fresh): Promise<RowRun> => {
      const generation = phases.generation;
      let done = await runTest(rec, { ...c, captures });
      if (done && stop.cause === null && reauth.wants(rec, done.outcome) && (await reauth.renew(generation))) {
        const again = await runTest(rec, { ...c, captures: fresh?.() ?? captures });
        if (again) again.outcome.attempts += done.outcome.attempts;
        done = again;
      }
      if (done === null) return null;
      await record(rec, done.outcome, done.secrets);
      return { status: done.outcome.status, captured: done.outcome.captured };
    };
  const reauth = createReauth({
    phases,
    run: runWith(ctx),
    statuses: parts.reauthOn,
    warn: parts.warn,
    onSettled: lanes.wake,
    stopped: stop.waits,
  });
  const notSent = (rec: TestRecord, code: string, message: string) =>
    record(rec, notSentOutcome(code, message), ctx.secrets);

  /** What a test sees: its flow's captures over the setup's (none of another flow's). */
  const contextFor = (rec: TestRecord): TestContext => {
    if (rec.flow === undefined) return phases.generation > 0 ? { ...ctx, captures: phases.values } : ctx;
    return { ...ctx, captures: captureBag(phases.values, flows.values(rec.flow)) };
  };

  const ensureSetup = async () => {
    if (setupRan) return;
    setupRan = true;
    if (phases.setup.length > 0) await reauth.renew(0);
  };

  /**
   * One test in a lane: waits out a re-login, runs, logs in again and retries once when
   * asked. With no re-login pending and no failed setup (nearly every test) it is a chain
   * of `then`s on the test's promise, no async function (issue 16); the effects come in the
   * same order as in `runOneLater`'s awaits.
   */
  function runOne(rec: TestRecord): Promise<ResultStatus | null> {
    const relogin = reauth.ready();
    if (relogin || phases.failure !== null) return runOneLater(rec, relogin);
    return runNow(rec);
  }

  async function runOneLater(rec: TestRecord, relogin: Promise<unknown> | null): Promise<ResultStatus | null> {
    if (relogin) await relogin;
    if (phases.failure !== null) {
      live.inFlight.delete(rec.id);
      await notSent(rec, 'SETUP_FAILED', phases.failure);
      return 'error';
    }
    return runNow(rec);
  }

  function runNow(rec: TestRecord): Promise<ResultStatus | null> {
    const generation = phases.generation;
    return runTest(rec, contextFor(rec)).then((done) =>
      done && reauth.wants(rec, done.outcome) ? renewed(rec, done, generation) : ended(rec, done),
    );
  }

  /** A `--reauth-on` status: one re-login, then one more try of the test. */
  async function renewed(rec: TestRecord, first: TestDone, generation: number): Promise<ResultStatus | null> {
    let done: TestDone | null = first;
    if (await reauth.renew(generation)) {
      const again = await runTest(rec, contextFor(rec));
      if (again) again.outcome.attempts += first.outcome.attempts;
      done = again;
    } else if (phases.failure === null) {
      // A stop cut the re-login: the test's 401 says the token expired, not that the
      // test failed. Cut, like a test in flight at a stop: not recorded, a resume runs it.
      done = null;
    }
    return ended(rec, done);
  }

  /** The test's end: recorded (then `--delay`; a flow's row pays it in its lane, `flowLane`), or cut. */
  function ended(rec: TestRecord, done: TestDone | null): ResultStatus | null | Promise<ResultStatus | null> {
    live.inFlight.delete(rec.id);
    if (done === null || parts.unreachable(done)) {
      cut++;
      return null;
    }
    if (rec.flow !== undefined && done.outcome.captured) flows.capture(rec.flow, done.outcome.captured);
    const { outcome } = done;
    return record(rec, outcome, done.secrets).then(() => {
      if (parts.delayMs === 0 || stop.cause) return outcome.status;
      if (rec.flow === undefined) return delay(rec.phase === undefined).then(() => outcome.status);
      flowPauses.add(rec.id);
      return outcome.status;
    });
  }

  // --delay is the pause before a lane's next test: none is owed once no test follows
  // (one controller per run, which the cut aborts too: no AbortSignal.any, which Node 20 keeps
  // referenced by its sources)
  const started = new AbortController();
  if (parts.delayMs > 0) stop.cut.addEventListener('abort', () => started.abort(), { once: true });
  // flow rows recorded whose --delay their lane pays (flowLane), once it knows whether a row follows
  const flowPauses = new Set<string>();
  // the last plain pause begun: the lanes' pauses end in the order they begin
  let pauseFrom: number | null = null;
  const delay = (plain: boolean) => {
    if (plain) pauseFrom = monotonicMs();
    return sleep(timerMs(parts.delayMs), undefined, { signal: plain ? started.signal : stop.cut }).catch(() => {});
  };

  /** A test of no flow is one row: its lane is that row's promise, with no wrapper (issue 16). */
  function lane(first: TestRecord): Promise<unknown> {
    try {
      return first.flow === undefined ? runOne(first) : flowLane(first);
    } catch (err) {
      // As a throw in an async function: the lane's failure, not the reader's.
      return Promise.reject(err);
    }
  }

  /** A flow's lane: its rows one after another, as each is let go by the flow's order. */
  async function flowLane(first: TestRecord): Promise<void> {
    let rec: TestRecord | null = first;
    while (rec) {
      const status = await runOne(rec);
      const flow = rec.flow;
      if (flow === undefined) return;
      const { next, stopped } = flows.after(flow, rec.id, status);
      for (const s of stopped)
        if (phases.failure !== null) await notSent(s, 'SETUP_FAILED', phases.failure);
        else await notSent(s, 'FLOW_STOPPED', flows.stoppedBy(flow) ?? '');
      // --delay: before the flow's next row it stays; after its last row it is a plain
      // test's pause, which ends once every record has started (no test follows on this lane)
      if (flowPauses.delete(rec.id) && !stop.cause) await delay(next === null && rec.phase === undefined);
      if (next) lanes.wake();
      if (next && stop.ended()) {
        // Cut, like a test in flight at a stop: not recorded, a resume runs the flow again.
        flows.after(flow, next.id, null);
        return;
      }
      if (next) live.inFlight.add(next.id);
      rec = next;
    }
  }

  function take(rec: TestRecord): boolean | Promise<boolean> {
    if (setupRan && rec.phase === undefined && rec.flow === undefined && phases.failure === null) return true;
    return admit(rec);
  }

  async function admit(rec: TestRecord): Promise<boolean> {
    if (rec.phase === 'setup') {
      phases.addSetup(rec);
      return false;
    }
    await ensureSetup();
    if (rec.phase === 'teardown') {
      phases.addTeardown(rec);
      return false;
    }
    if (phases.failure !== null) {
      await notSent(rec, 'SETUP_FAILED', phases.failure);
      return false;
    }
    if (rec.flow === undefined) return true;
    const admitted = flows.admit(rec as TestRecord & { flow: string });
    if ('stopped' in admitted) {
      await notSent(rec, 'FLOW_STOPPED', admitted.stopped);
      return false;
    }
    if ('held' in admitted) {
      await lanes.waitUntil(() => flows.held < MAX_HELD_ROWS || stop.ended());
      return false;
    }
    return true;
  }

  async function finish(): Promise<void> {
    await reauth.dispose();
    if (stop.failure || stop.cause === 'unreachable' || phases.teardown.length === 0) return;
    // A stop cut the setup before it ever succeeded: no test ran with it, so there is
    // nothing to clean up, and teardown rows would go out without the values they need.
    // Not recorded: a resume runs setup, tests and teardown.
    if (phases.setup.length > 0 && phases.generation === 0 && phases.failure === null) return;
    const own = stop.cause === 'stop' ? parts.freshContext() : null;
    try {
      await phases.runTeardown(teardownWith(own?.ctx ?? ctx), (rec, message) => notSent(rec, 'SETUP_FAILED', message));
    } finally {
      await own?.close();
    }
  }

  return {
    take,
    lane,
    addTeardown: (rec) => phases.addTeardown(rec),
    holding: () => reauth.busy(),
    inputEnded: ensureSetup,
    allStarted() {
      if (phases.teardown.length === 0) started.abort();
    },
    finish,
    get cut() {
      return cut;
    },
    get setupFailed() {
      return phases.failure;
    },
    get relogins() {
      return reauth.count;
    },
    get pauseOwedUntil() {
      return pauseFrom === null ? null : pauseFrom + timerMs(parts.delayMs);
    },
  };
}
