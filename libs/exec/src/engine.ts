import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EnvAllow, formatStory, MIN_SECRET_LENGTH, type TestDebug, type TestRecord } from '@capi/core';
import { timerMs } from './backoff.js';
import { fingerprint } from './fingerprint.js';
import { createHttpClient } from './http-client.js';
import { createLiveState, createRateMeter, type LiveState } from './live-state.js';
import type { MaxErrors } from './rate.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { createSecretSet, type SecretSet } from './redact.js';
import { type ExecResult, makeResult, type Outcome, type ResultOrigin } from './result.js';
import { runTest, type TestContext, type TestDone } from './run-one.js';
import type { BaseUrl } from './target.js';
import { makeDebug, TRACE_BODY_BYTES, type TraceSelector, tracedUpFront } from './trace.js';

export interface EngineOptions extends ResultOrigin {
  base: BaseUrl | null;
  headers: Record<string, string>;
  /** `--header-all-origins`: `--header` values go to every origin, not only the base URL's. */
  headerAllOrigins: boolean;
  env: NodeJS.ProcessEnv;
  /** Which env variables a test's `{{env.NAME}}` may read. */
  allowEnv: EnvAllow;
  /** `--var` / `--vars`: plain values for templates, not redacted. */
  runVars: Record<string, string>;
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
  limiter?: RateLimiter;
  /** Add `fp` to every result (a journal needs it for resume; stdout alone does not). */
  fingerprints?: boolean;
  /** `--trace`: the tests whose story is written (to stderr) as they end. */
  trace?: { selector: TraceSelector; write: (text: string) => void } | null;
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
  stoppedBy: 'stop' | 'max-errors' | 'unreachable' | null;
  /** Why --max-errors or an unreachable target stopped the run, in words. */
  reason: string | null;
}

/** Connection errors that mean the target is not there at all (not a flaky answer). */
export const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'DNS']);

/**
 * Which refusals stop the run as "target unreachable". With a base URL, only a refusal by
 * its origin before that origin has answered in this run: a suite row with an absolute URL
 * to a host that is down is an ordinary error, and never blocks the batch. Without one,
 * a refusal before any origin has answered, in this run or in the journal (a resume of a
 * batch whose only test left points at a host that is down completes).
 */
export function createAnswered(baseOrigin: string | null, answeredBefore: boolean) {
  const origins = new Set<string>();
  return {
    note: (origin: string) => origins.add(origin),
    stopsRun(origin: string): boolean {
      if (baseOrigin !== null) return origin === baseOrigin && !origins.has(origin);
      return origins.size === 0 && !answeredBefore;
    },
  };
}

/** The minimum number of finished tests before a percentage --max-errors can stop a run. */
export const MAX_ERRORS_MIN_SAMPLE = 20;

export function tooManyErrors(live: LiveState, max: MaxErrors | null): string | null {
  if (!max) return null;
  const ran = live.passed + live.failed + live.errors;
  if (max.count !== null && live.errors > max.count)
    return `${live.errors} tests errored, more than --max-errors ${max.count}`;
  if (max.percent !== null && ran >= MAX_ERRORS_MIN_SAMPLE && (live.errors / ran) * 100 > max.percent)
    return `${live.errors} of ${ran} tests errored (${((live.errors / ran) * 100).toFixed(1)}%), more than --max-errors ${max.percent}%`;
  return null;
}

function count(live: LiveState, r: ExecResult): void {
  live.done++;
  if (r.status === 'passed') live.passed++;
  else if (r.status === 'failed') live.failed++;
  else if (r.status === 'error') live.errors++;
  else live.skipped++;
}

/**
 * The last pass over what is written: failure texts were redacted whole before they were
 * cut (run-one.ts); error messages (a URL that carries a key) are redacted here. Secrets
 * met later in the run than the text was made (a test's env value) are caught again.
 */
function redactOutcome(o: Outcome, secrets: SecretSet): void {
  if (secrets.size === 0) return;
  for (const f of o.failures) {
    f.expected = secrets.redact(f.expected);
    f.actual = secrets.redact(f.actual);
  }
  if (o.error) o.error.message = secrets.redact(o.error.message);
}

const skippedOutcome = (): Outcome => ({
  status: 'skipped',
  attempts: 0,
  startedAt: Date.now(),
  durationMs: 0,
  response: null,
  failures: [],
  error: null,
});

/**
 * Runs test records with at most `live.concurrency` in flight, paced by the limiter,
 * handing each result to `sink`. Reads the input only as lanes free up, so a suite of
 * any size streams through in bounded memory.
 */
export async function runTests(
  records: AsyncIterable<TestRecord>,
  options: EngineOptions,
  sink: ResultSink,
  live: LiveState = createLiveState(options.concurrency),
): Promise<Summary> {
  const began = performance.now();
  const secrets = options.secrets ?? createSecretSet();
  const limiter = options.limiter ?? createRateLimiter(options.rate, undefined, options.maxPauseMs);
  live.apiPausedUntil = () => limiter.pausedUntilWall();
  // The in-flight window bounds the connections: the pool grows to it and no further,
  // also when control.json changes the concurrency.
  const client = createHttpClient({
    connections: null,
    insecure: options.insecure,
    maxBody: options.maxBody,
    compressed: options.compressed === true,
  });
  const cutter = new AbortController();
  const stopWaits = new AbortController();
  // Every lane waiting out a backoff listens to it: as many listeners as lanes is normal.
  setMaxListeners(0, cutter.signal);
  let stoppedBy: Summary['stoppedBy'] = null;
  let reason: string | null = null;
  let cut = 0;
  let running = 0;
  let wakeLoop: (() => void) | null = null;
  const wake = () => {
    const w = wakeLoop;
    wakeLoop = null;
    w?.();
  };
  live.wake = wake;
  const meter = createRateMeter(live);
  const ticker = setInterval(meter, 1000);
  ticker.unref();
  let graceTimer: NodeJS.Timeout | null = null;
  const onStop = () => {
    // A signal wins over --max-errors: the run was stopped, and in flight gets the grace.
    stoppedBy = 'stop';
    live.state = 'stopping';
    // Lanes waiting for a slot, a pause or a retry have nothing in flight: they end now,
    // not after --grace (a resume runs their tests).
    limiter.cancelAll();
    stopWaits.abort();
    if (graceTimer) return;
    graceTimer = setTimeout(() => {
      cutter.abort();
      limiter.cancelAll();
      void client.destroy();
    }, timerMs(options.graceMs));
    wake();
  };
  if (options.stop?.aborted) onStop();
  else options.stop?.addEventListener('abort', onStop, { once: true });

  const short = new Set<string>();
  const ctx: TestContext = {
    base: options.base,
    headers: options.headers,
    headerAllOrigins: options.headerAllOrigins,
    env: options.env,
    allowEnv: options.allowEnv,
    runVars: options.runVars,
    retryUnsafe: options.retryUnsafe,
    onShortSecret: (name) => {
      if (short.has(name)) return;
      short.add(name);
      options.warn?.(
        `warning: {{env.${name}}} is shorter than ${MIN_SECRET_LENGTH} characters and is not redacted (a value that short would shred every report; pass plain values with --var)`,
      );
    },
    secrets,
    timeoutMs: options.timeoutMs,
    maxBody: options.maxBody,
    client,
    limiter,
    retries: options.retries,
    cut: cutter.signal,
    waits: stopWaits.signal,
    // The meter gives the average since the start until it has a few seconds of samples.
    observedRate: () => live.rateNow(),
    lanes: () => live.concurrency,
    traced: options.trace ? (rec) => tracedUpFront(options.trace?.selector ?? null, rec) : undefined,
  };

  let failure: unknown = null;
  const finish = async (rec: TestRecord, outcome: Outcome, testSecrets: SecretSet) => {
    redactOutcome(outcome, testSecrets);
    const result = makeResult(rec, outcome, options, options.fingerprints ? fingerprint(rec) : undefined);
    const ex = outcome.exchange;
    // Only failed and error results keep their exchange: a passed one has nothing to explain.
    if (ex && (result.status === 'failed' || result.status === 'error'))
      result.debug = makeDebug(ex.request, ex.answer, (t) => testSecrets.redact(t));
    const trace = options.trace;
    if (trace && (tracedUpFront(trace.selector, rec) || (trace.selector.failed && result.debug))) {
      let debug: TestDebug | null = null;
      if (ex) debug = makeDebug(ex.request, ex.answer, (t) => testSecrets.redact(t), TRACE_BODY_BYTES);
      trace.write(formatStory(result, debug));
    }
    const pending = sink(result);
    if (pending) await pending;
    count(live, result);
    const why = stoppedBy ? null : tooManyErrors(live, options.maxErrors);
    if (why) {
      stoppedBy = 'max-errors';
      reason = why;
      live.state = 'stopping';
    }
  };

  const answered = createAnswered(options.base?.origin ?? null, options.answeredBefore === true);
  /**
   * The target could not be reached before it ever answered (refused, DNS): the run stops
   * with exit 3 and these tests are not recorded, so a resume runs them once it is up.
   * The target is the base URL's origin; a test to another host that is down is an
   * ordinary error (see createAnswered).
   */
  const unreachable = (done: TestDone) => {
    const o = done.outcome;
    if (o.response && done.origin) answered.note(done.origin);
    if (o.status !== 'error' || !UNREACHABLE_CODES.has(o.error?.code ?? '')) return false;
    if (done.origin === null || !answered.stopsRun(done.origin)) return false;
    if (!stoppedBy) {
      stoppedBy = 'unreachable';
      reason = `target unreachable: ${done.secrets.redact(o.error?.message ?? '')}`;
      live.state = 'stopping';
    }
    return true;
  };

  const lane = async (rec: TestRecord) => {
    try {
      const done = await runTest(rec, ctx);
      live.inFlight.delete(rec.id);
      if (done === null || unreachable(done)) cut++;
      else await finish(rec, done.outcome, done.secrets);
      if (options.delayMs > 0 && !stoppedBy)
        await sleep(timerMs(options.delayMs), undefined, { signal: cutter.signal }).catch(() => {});
    } catch (err) {
      failure ??= err;
      stoppedBy ??= 'stop';
    }
    running--;
    wake();
  };
  const launch = (rec: TestRecord) => {
    running++;
    live.inFlight.add(rec.id);
    void lane(rec);
  };

  const roomFor = () => running < live.concurrency && !live.paused;
  const waitUntil = async (ok: () => boolean) => {
    // Woken by a lane that ends, a stop, or a control change (live.wake).
    while (!ok())
      await new Promise<void>((resolve) => {
        wakeLoop = resolve;
      });
  };

  live.state = live.paused ? 'paused' : 'running';
  try {
    for await (const rec of records) {
      if (stoppedBy || failure) break;
      if (!rec.enabled) {
        await finish(rec, skippedOutcome(), secrets);
        continue;
      }
      await waitUntil(() => roomFor() || stoppedBy !== null || failure !== null);
      if (stoppedBy || failure) break;
      live.state = 'running';
      launch(rec);
    }
  } catch (err) {
    // A stop may end the input early (stdin is closed on a signal): that is not an error.
    if (!stoppedBy) throw err;
  } finally {
    await waitUntil(() => running === 0);
    if (graceTimer) clearTimeout(graceTimer);
    options.stop?.removeEventListener('abort', onStop);
    clearInterval(ticker);
    meter();
    await client.close().catch(() => {});
  }
  if (failure) throw failure;
  return {
    passed: live.passed,
    failed: live.failed,
    errors: live.errors,
    skipped: live.skipped,
    cut,
    durationMs: performance.now() - began,
    stoppedBy,
    reason,
  };
}
