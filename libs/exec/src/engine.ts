import { MIN_SECRET_LENGTH, monotonicMs, type TestRecord } from '@capi/core';
import { createFlowRun, type FlowRun } from './flow-run.js';
import { createHttpClient, type HttpClient } from './http-client.js';
import { createLanes } from './lanes.js';
import { createRateMeter, type LiveState } from './live-state.js';
import type { RequestInputs } from './prepare.js';
import type { MaxErrors } from './rate.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { DEFAULT_REAUTH_ON } from './reauth.js';
import { type RecordResult, resultRecorder, skippedOutcome } from './record-result.js';
import { createSecretSet, type SecretSet } from './redact.js';
import type { ExecResult, ResultOrigin } from './result.js';
import type { TestContext } from './run-one.js';
import { createRunStop, type RunStop, type StopCause } from './run-stop.js';
import { type TraceSelector, tracedUpFront } from './trace.js';
import { unreachableJudge } from './unreachable.js';

export interface EngineOptions extends ResultOrigin, RequestInputs {
  /** `--retry-unsafe`: retry requests that are not idempotent after any error. */
  retryUnsafe: boolean;
  /** A line for people (stderr): warnings. */
  warn?: (line: string) => void;
  /** The journal holds answers of an earlier run: the target has answered before (see `unreachable`). */
  answeredBefore?: boolean;
  concurrency: number;
  /** Tests started per second, or null for no limit. */
  rate: number | null;
  delayMs: number;
  timeoutMs: number;
  maxBody: number;
  /** --max-pause: the longest pause the API may ask for (Retry-After, a spent window). */
  maxPauseMs?: number;
  /** --compressed: ask for compressed answers (a test's own Accept-Encoding wins). */
  compressed?: boolean;
  insecure: boolean;
  retries: number;
  maxErrors: MaxErrors | null;
  /** Aborted: take no new tests; in-flight ones get `graceMs`, then are cut. */
  stop?: AbortSignal;
  graceMs: number;
  secrets?: SecretSet;
  /** Add `fp` to every result (a journal needs it for resume; stdout alone does not). */
  fingerprints?: boolean;
  /** `--trace`: the tests whose story is written (to stderr) as they end. */
  trace?: { selector: TraceSelector; write: (text: string) => void } | null;
  /** `--reauth-on`: statuses that make a process with setup rows log in again (default 401). */
  reauthOn?: ReadonlySet<number>;
  /** Flows run again from their first row on resume, and their `flowRun` (journal-session.ts). */
  flowRuns?: ReadonlyMap<string, number>;
  /**
   * The process's HTTP client when it runs batch after batch (`--serve`): its keep-alive
   * connections outlive one batch, and its owner closes it. Without one, a client is made
   * for the run and closed at its end.
   */
  client?: HttpClient;
}

/** Receives each finished test; the engine waits for it (journal, then stdout) before the lane is free. */
export type ResultSink = (result: ExecResult) => Promise<void> | void;

export interface Summary {
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  /** In flight when the grace period ran out: not recorded, a resume runs them. */
  cut: number;
  durationMs: number;
  stoppedBy: StopCause | null;
  /** Why --max-errors or an unreachable target stopped the run, in words. */
  reason: string | null;
  /** Flows: the SETUP_FAILED message when a setup row failed (exit 3), else null. */
  setupFailed: string | null;
  /** Flows: re-logins after the first setup. */
  relogins: number;
  /** Flows: teardown rows that failed or errored (exit 1 when nothing worse happened). */
  teardownFailed: number;
  /**
   * `--delay`: when the pause after the last test would have ended (monotonicMs()
   * time; null: none). Not waited for at the end of the input: `--serve` waits for it
   * before its next batch only, so a launched run ends with its last test.
   */
  pauseOwedUntil?: number | null;
}

/** What the engine shares with the rest of the run (execute.ts makes them once). */
export interface EngineShared {
  live: LiveState;
  limiter: RateLimiter;
}

/**
 * An HTTP client for a run: the in-flight window bounds the connections (the pool grows to
 * it and no further, also when control.json changes the concurrency).
 */
export function clientFor(options: Pick<EngineOptions, 'insecure' | 'maxBody' | 'compressed'>): HttpClient {
  return createHttpClient({
    connections: null,
    insecure: options.insecure,
    maxBody: options.maxBody,
    compressed: options.compressed === true,
  });
}

/** Warns once per short `{{env.NAME}}` secret that it is not redacted. */
function shortSecretWarning(warn: EngineOptions['warn']): (name: string) => void {
  const short = new Set<string>();
  return (name) => {
    if (short.has(name)) return;
    short.add(name);
    warn?.(
      `warning: {{env.${name}}} is shorter than ${MIN_SECRET_LENGTH} characters and is not redacted (a value that short would shred every report; pass plain values with --var)`,
    );
  };
}

function testContext(
  options: EngineOptions,
  { live, limiter }: EngineShared,
  client: HttpClient,
  stop: RunStop,
  secrets: SecretSet,
): TestContext {
  const trace = options.trace;
  return {
    base: options.base,
    headers: options.headers,
    headerAllOrigins: options.headerAllOrigins,
    env: options.env,
    allowEnv: options.allowEnv,
    runVars: options.runVars,
    retryUnsafe: options.retryUnsafe,
    onShortSecret: shortSecretWarning(options.warn),
    secrets,
    timeoutMs: options.timeoutMs,
    maxBody: options.maxBody,
    client,
    limiter,
    retries: options.retries,
    cut: stop.cut,
    waits: stop.waits,
    // The meter gives the average since the start until it has a few seconds of samples.
    observedRate: () => live.rateNow(),
    lanes: () => live.concurrency,
    traced: trace ? (rec) => tracedUpFront(trace.selector, rec) : undefined,
  };
}

/**
 * Runs test records with at most `live.concurrency` in flight, paced by the limiter,
 * handing each result to `sink`. Reads the input (a chunk of records at a time) only as
 * lanes free up, so a suite of any size streams through in bounded memory.
 */
export async function runTests(
  records: AsyncIterable<readonly TestRecord[]>,
  options: EngineOptions,
  sink: ResultSink,
  shared: EngineShared,
): Promise<Summary> {
  const began = monotonicMs();
  const { live, limiter } = shared;
  const secrets = options.secrets ?? createSecretSet();
  live.apiPausedUntil = () => limiter.pausedUntilWall();
  const client = options.client ?? clientFor(options);
  const lanes = createLanes(live);
  const stop = createRunStop({ live, limiter, client, graceMs: options.graceMs, wake: lanes.wake });
  const meter = createRateMeter(live);
  const ticker = setInterval(meter, 1000);
  ticker.unref();
  stop.listen(options.stop);
  const ctx = testContext(options, shared, client, stop, secrets);
  const record = resultRecorder(options, live, sink, stop);
  const unreachable = unreachableJudge(options.base?.origin ?? null, options.answeredBefore === true, stop);
  const flows = createFlowRun({
    ctx,
    record,
    stop,
    lanes,
    live,
    unreachable,
    delayMs: options.delayMs,
    reauthOn: options.reauthOn ?? DEFAULT_REAUTH_ON,
    freshContext: () => freshContext(options, ctx),
    warn: options.warn,
  });
  try {
    await feed(records, { live, lanes, stop, record, secrets, flows });
    flows.allStarted();
  } finally {
    await lanes.waitUntil(() => lanes.running === 0);
    await flows.finish().catch((err) => stop.fail(err));
    stop.dispose();
    clearInterval(ticker);
    meter();
    if (!options.client) await client.close().catch(() => {});
  }
  if (stop.failure) throw stop.failure;
  const { passed, failed, errors, skipped } = live;
  const durationMs = monotonicMs() - began;
  const { cut, setupFailed, relogins } = flows;
  return {
    passed,
    failed,
    errors,
    skipped,
    cut,
    durationMs,
    stoppedBy: stop.cause,
    reason: stop.reason,
    setupFailed,
    relogins,
    teardownFailed: live.teardownFailed,
    pauseOwedUntil: flows.pauseOwedUntil,
  };
}

interface FeedParts {
  live: LiveState;
  lanes: ReturnType<typeof createLanes>;
  stop: RunStop;
  record: RecordResult;
  secrets: SecretSet;
  flows: FlowRun;
}

/**
 * Reads the records as lanes free up: a disabled test is recorded as skipped, setup and
 * teardown rows and rows of busy or stopped flows are handled by flow-run.ts, the others
 * start in a lane.
 */
async function feed(
  records: AsyncIterable<readonly TestRecord[]>,
  { live, lanes, stop, record, secrets, flows }: FeedParts,
) {
  live.state = live.paused ? 'paused' : 'running';
  const free = () => (lanes.hasRoom() && !flows.holding()) || stop.ended();
  const laneFailed = (err: unknown) => stop.fail(err);
  try {
    // A chunk of records at a time (one await per chunk, not per record: issue 16); the
    // next chunk is read once every record of this one has started or been handled.
    read: for await (const chunk of records)
      for (const rec of chunk) {
        if (stop.failure) break read;
        // After a stop the rest of the input is read for its teardown rows only (they run after a stop too).
        if (stop.ended()) {
          if (rec.phase === 'teardown' && rec.enabled) flows.addTeardown(rec);
          continue;
        }
        if (!rec.enabled) {
          await record(rec, skippedOutcome(), secrets);
          continue;
        }
        // Plain values on the common path, not promises: the reader meets every record here.
        const taken = flows.take(rec);
        if (!(taken === true || (taken !== false && (await taken))) || stop.ended()) continue;
        if (!free()) await lanes.waitUntil(free);
        if (stop.ended()) continue;
        live.state = 'running';
        live.inFlight.add(rec.id);
        lanes.start(() => flows.lane(rec), laneFailed);
      }
    if (!stop.ended()) await flows.inputEnded();
  } catch (err) {
    // A stop may end the input early (stdin is closed on a signal): that is not an error.
    if (!stop.cause) throw err;
  }
}

/**
 * Teardown after a stop: the run's client was destroyed and its limiter closed, so the
 * teardown rows get a client and a limiter of their own, and no grace cuts them (a second
 * signal still ends the process at once).
 */
function freshContext(options: EngineOptions, ctx: TestContext): { ctx: TestContext; close(): Promise<void> } {
  const client = clientFor(options);
  const limiter = createRateLimiter(options.rate, undefined, options.maxPauseMs);
  const own: TestContext = { ...ctx, client, limiter, cut: new AbortController().signal, waits: undefined };
  return { ctx: own, close: () => client.close().catch(() => {}) };
}
