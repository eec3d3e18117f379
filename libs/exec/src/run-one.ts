import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckFailure, ResultError, TestRecord } from '@capi/core';
import { BACKOFF_BASE_MS, backoffMs, parseRetryAfter, timerMs } from './backoff.js';
import { BadExpectation, runChecks, statusPasses } from './checks.js';
import { type HttpAnswer, type HttpClient, RequestError } from './http-client.js';
import { type PrepareContext, type PreparedTest, prepareTest } from './prepare.js';
import { readRateHint } from './rate-headers.js';
import type { RateLimiter } from './rate-limiter.js';
import type { Outcome } from './result.js';
import { BadUrl } from './target.js';
import { MissingVariable } from './template.js';

/** What one test needs from the run around it. */
export interface TestContext extends PrepareContext {
  client: HttpClient;
  limiter: RateLimiter;
  retries: number;
  /** Aborted when the grace period after a stop is over: the test is cut, not recorded. */
  cut: AbortSignal;
  /** Aborted at a stop: a wait between tries ends at once (nothing is in flight), the test is cut. */
  waits?: AbortSignal;
  /** Tests per second lately: a 429 halves the pace from there. */
  observedRate(): number;
  lanes(): number;
}

/** What a failed attempt says about trying again. */
interface Retry {
  error: ResultError;
  response: { status: number; bytes: number; decodedBytes?: number } | null;
  /** ms to wait before the next try; null: back off with jitter. */
  waitMs: number | null;
  retryable: boolean;
}

function fromAnswer(a: HttpAnswer, ctx: TestContext): Retry {
  const response = responseOf(a);
  const error = { code: `HTTP_${a.status}`, message: `the API answered ${a.status}` };
  if (a.status !== 429 && a.status !== 503) return { error, response, waitMs: null, retryable: true };
  if (a.status === 429) ctx.limiter.throttle(ctx.observedRate());
  const said = a.headers['retry-after'];
  const waitMs = parseRetryAfter(said);
  if (waitMs === null) return { error, response, waitMs: null, retryable: true };
  // The whole process waits, not just this test: every lane takes its next start from the
  // limiter. A pause over --max-pause is refused: this test and those waiting end as errors.
  if (!ctx.limiter.pauseFor(waitMs, `Retry-After: ${String(said).trim().slice(0, 60)}`)) {
    error.message += `; ${ctx.limiter.refusal() ?? 'pause refused'}`;
    return { error, response, waitMs, retryable: false };
  }
  return { error, response, waitMs, retryable: true };
}

/** An answered attempt: the expectation wins when the status matches it (expect 500 → passed). */
function judge(a: HttpAnswer, prep: PreparedTest, ctx: TestContext): Promise<CheckFailure[]> | Retry {
  if (!statusPasses(prep.expect.status, a.status) && (a.status === 429 || a.status >= 500)) return fromAnswer(a, ctx);
  return runChecks(prep.expect, a, ctx.cut);
}

/** The result's `response`: the status and the body's size on the wire, and decoded when it was encoded. */
function responseOf(a: HttpAnswer): { status: number; bytes: number; decodedBytes?: number } {
  const r = { status: a.status, bytes: a.bytes };
  return a.decodedBytes === null ? r : { ...r, decodedBytes: a.decodedBytes };
}

function noteHints(a: HttpAnswer, ctx: TestContext): void {
  const hint = readRateHint(a.headers);
  if (hint) ctx.limiter.hint(hint.remaining, hint.resetS, ctx.lanes(), hint.said);
}

function setupError(err: unknown): ResultError {
  if (err instanceof MissingVariable) return { code: 'TEMPLATE', message: err.message };
  if (err instanceof BadUrl) return { code: 'BAD_URL', message: err.message };
  if (err instanceof BadExpectation) return { code: 'BAD_EXPECT', message: err.message };
  throw err;
}

async function wait(ms: number, ctx: TestContext): Promise<boolean> {
  // `waits` is aborted at the stop, before any cut; no AbortSignal.any per wait (in Node 20
  // each one stays referenced by its sources until they abort).
  const signal = ctx.waits ?? ctx.cut;
  try {
    await sleep(timerMs(ms), undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** Runs one test with its retries. Null when it was cut by a stop: it is then not recorded. */
export async function runTest(
  rec: TestRecord,
  ctx: TestContext,
): Promise<{ outcome: Outcome; secrets: string[] } | null> {
  const startedAt = Date.now();
  const base: Outcome = {
    status: 'error',
    attempts: 0,
    startedAt,
    durationMs: 0,
    response: null,
    failures: [],
    error: null,
  };
  let prep: PreparedTest;
  try {
    prep = prepareTest(rec, ctx);
  } catch (err) {
    return { outcome: { ...base, error: setupError(err) }, secrets: [] };
  }
  let last: Retry | null = null;
  for (let attempt = 1; attempt <= ctx.retries + 1; attempt++) {
    // take() is a plain true when nothing limits the pace: no await, no promise.
    const slot = ctx.limiter.take();
    if ((slot !== true && !(await slot)) || ctx.cut.aborted) {
      const why = ctx.cut.aborted ? null : ctx.limiter.refusal();
      if (!why) return null;
      // A pause over --max-pause: the test is not sent (or not sent again), and says why.
      const error = { code: 'PAUSE_TOO_LONG', message: why };
      return { outcome: { ...base, error, response: last?.response ?? null }, secrets: prep.secrets };
    }
    // startedAt and durationMs describe the final attempt, so startedAt + durationMs is
    // when the test ended (what capi-merge takes for wall time); `attempts` counts the tries.
    base.startedAt = Date.now();
    base.attempts = attempt;
    let answer: HttpAnswer;
    const sentAt = performance.now();
    try {
      answer = await ctx.client.send(prep.request);
    } catch (err) {
      if (ctx.cut.aborted) return null;
      if (!(err instanceof RequestError)) throw err;
      // Never sent: like a bad template, the test itself is wrong; no retry, no attempt.
      if (!err.sent)
        return {
          outcome: { ...base, attempts: 0, durationMs: 0, error: { code: err.code, message: err.message } },
          secrets: prep.secrets,
        };
      base.durationMs = performance.now() - sentAt;
      last = { error: { code: err.code, message: err.message }, response: null, waitMs: null, retryable: true };
      if (attempt <= ctx.retries && !(await wait(backoffMs(attempt), ctx))) return null;
      continue;
    }
    noteHints(answer, ctx);
    // The expectations were checked before sending (prepareTest): judging cannot throw.
    const verdict = await judge(answer, prep, ctx);
    // A body regex still waiting for its worker when the grace ran out: cut, like a request.
    if (ctx.cut.aborted) return null;
    const timing = { durationMs: answer.durationMs, response: responseOf(answer) };
    if (Array.isArray(verdict)) {
      const status = verdict.length === 0 ? 'passed' : 'failed';
      return { outcome: { ...base, ...timing, status, failures: verdict }, secrets: prep.secrets };
    }
    last = { ...verdict, response: timing.response };
    base.durationMs = answer.durationMs;
    if (!verdict.retryable) break;
    if (attempt <= ctx.retries) {
      const ms = verdict.waitMs ?? backoffMs(attempt, Math.random, BACKOFF_BASE_MS);
      if (!(await wait(ms, ctx))) return null;
    }
  }
  const outcome: Outcome = { ...base, response: last?.response ?? null, error: last?.error ?? null };
  return { outcome, secrets: prep.secrets };
}
