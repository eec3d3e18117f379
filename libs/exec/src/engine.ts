import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatStory, type TestDebug, type TestRecord } from '@capi/core';
import { fingerprint } from './fingerprint.js';
import { createHttpClient } from './http-client.js';
import { createLiveState, createRateMeter, type LiveState } from './live-state.js';
import type { MaxErrors } from './rate.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { createSecretSet, type SecretSet } from './redact.js';
import { type ExecResult, makeResult, type Outcome, type ResultOrigin } from './result.js';
import { runTest, type TestContext } from './run-one.js';
import type { BaseUrl } from './target.js';
import { makeDebug, TRACE_BODY_BYTES, type TraceSelector, tracedUpFront } from './trace.js';

export interface EngineOptions extends ResultOrigin {
  base: BaseUrl | null;
  headers: Record<string, string>;
  env: NodeJS.ProcessEnv;
  concurrency: number;
  /** Tests started per second, or null for no limit. */
  rate: number | null;
  delayMs: number;
  timeoutMs: number;
  maxBody: number;
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

function cleaner(secrets: SecretSet, local: string[]): (t: string) => string {
  if (secrets.size === 0 && local.length === 0) return (t) => t;
  return (t: string) => {
    let out = secrets.redact(t);
    for (const s of local) if (s && out.includes(s)) out = out.replaceAll(s, '[redacted]');
    return out;
  };
}

function redactOutcome(o: Outcome, secrets: SecretSet, local: string[]): void {
  if (secrets.size === 0 && local.length === 0) return;
  const clean = cleaner(secrets, local);
  for (const f of o.failures) {
    f.expected = clean(f.expected);
    f.actual = clean(f.actual);
  }
  if (o.error) o.error.message = clean(o.error.message);
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
  const limiter = options.limiter ?? createRateLimiter(options.rate);
  // The in-flight window bounds the connections: the pool grows to it and no further,
  // also when control.json changes the concurrency.
  const client = createHttpClient({ connections: null, insecure: options.insecure, maxBody: options.maxBody });
  const cutter = new AbortController();
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
    if (graceTimer) return;
    graceTimer = setTimeout(() => {
      cutter.abort();
      limiter.cancelAll();
      void client.destroy();
    }, options.graceMs);
    wake();
  };
  if (options.stop?.aborted) onStop();
  else options.stop?.addEventListener('abort', onStop, { once: true });

  const ctx: TestContext = {
    base: options.base,
    headers: options.headers,
    env: options.env,
    secrets,
    timeoutMs: options.timeoutMs,
    maxBody: options.maxBody,
    client,
    limiter,
    retries: options.retries,
    cut: cutter.signal,
    // The meter gives the average since the start until it has a few seconds of samples.
    observedRate: () => live.rateNow(),
    lanes: () => live.concurrency,
    traced: options.trace ? (rec) => tracedUpFront(options.trace?.selector ?? null, rec) : undefined,
  };

  let failure: unknown = null;
  const finish = async (rec: TestRecord, outcome: Outcome, local: string[]) => {
    redactOutcome(outcome, secrets, local);
    const result = makeResult(rec, outcome, options, options.fingerprints ? fingerprint(rec) : undefined);
    const ex = outcome.exchange;
    // Only failed and error results keep their exchange: a passed one has nothing to explain.
    if (ex && (result.status === 'failed' || result.status === 'error'))
      result.debug = makeDebug(ex.request, ex.answer, cleaner(secrets, local));
    const trace = options.trace;
    if (trace && (tracedUpFront(trace.selector, rec) || (trace.selector.failed && result.debug))) {
      let debug: TestDebug | null = null;
      if (ex) debug = makeDebug(ex.request, ex.answer, cleaner(secrets, local), TRACE_BODY_BYTES);
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

  let answered = false;
  /**
   * The target could not be reached before it ever answered (refused, DNS): the run stops
   * with exit 3 and these tests are not recorded, so a resume runs them once it is up.
   */
  const unreachable = (o: Outcome) => {
    if (o.response) answered = true;
    if (answered || o.status !== 'error' || !UNREACHABLE_CODES.has(o.error?.code ?? '')) return false;
    if (!stoppedBy) {
      stoppedBy = 'unreachable';
      reason = `target unreachable: ${secrets.redact(o.error?.message ?? '')}`;
      live.state = 'stopping';
    }
    return true;
  };

  const lane = async (rec: TestRecord) => {
    try {
      const done = await runTest(rec, ctx);
      live.inFlight.delete(rec.id);
      if (done === null || unreachable(done.outcome)) cut++;
      else await finish(rec, done.outcome, done.secrets);
      if (options.delayMs > 0 && !stoppedBy)
        await sleep(options.delayMs, undefined, { signal: cutter.signal }).catch(() => {});
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
        await finish(rec, skippedOutcome(), []);
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
