import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckFailure, ResultError, TestRecord } from '@capi/core';
import { BACKOFF_BASE_MS, backoffMs, parseRetryAfter, RETRY_AFTER_CAP_MS } from './backoff.js';
import { BadExpectation, runChecks, statusPasses } from './checks.js';
import { type HttpAnswer, type HttpClient, RequestError } from './http-client.js';
import { type PrepareContext, type PreparedTest, prepareTest } from './prepare.js';
import { readRateHint } from './rate-headers.js';
import type { RateLimiter } from './rate-limiter.js';
import type { Outcome } from './result.js';
import { BadUrl } from './target.js';
import { MissingVariable } from './template.js';
import { TRACE_BODY_BYTES } from './trace.js';

/** What one test needs from the run around it. */
export interface TestContext extends PrepareContext {
  client: HttpClient;
  limiter: RateLimiter;
  retries: number;
  /** Aborted when the grace period after a stop is over: the test is cut, not recorded. */
  cut: AbortSignal;
  /** Tests per second lately: a 429 halves the pace from there. */
  observedRate(): number;
  lanes(): number;
  /** Whether `--trace` names this test (by id or tag): its body is then kept up to TRACE_BODY_BYTES. */
  traced?: (rec: TestRecord) => boolean;
}

/** What a failed attempt says about trying again. */
interface Retry {
  error: ResultError;
  response: { status: number; bytes: number } | null;
  /** ms to wait before the next try; null: back off with jitter. */
  waitMs: number | null;
  retryable: boolean;
}

function fromAnswer(a: HttpAnswer, ctx: TestContext): Retry {
  const response = { status: a.status, bytes: a.bytes };
  const error = { code: `HTTP_${a.status}`, message: `the API answered ${a.status}` };
  if (a.status !== 429 && a.status !== 503) return { error, response, waitMs: null, retryable: true };
  if (a.status === 429) ctx.limiter.throttle(ctx.observedRate());
  const waitMs = parseRetryAfter(a.headers['retry-after']);
  if (waitMs === null) return { error, response, waitMs: null, retryable: true };
  if (waitMs > RETRY_AFTER_CAP_MS) {
    error.message += ` with Retry-After ${Math.round(waitMs / 1000)} s, longer than the ${RETRY_AFTER_CAP_MS / 1000} s capi waits`;
    return { error, response, waitMs, retryable: false };
  }
  // The whole process waits, not just this test: every lane takes its next start from the limiter.
  ctx.limiter.pauseFor(waitMs);
  return { error, response, waitMs, retryable: true };
}

/** An answered attempt: the expectation wins when the status matches it (expect 500 → passed). */
function judge(a: HttpAnswer, prep: PreparedTest, ctx: TestContext): CheckFailure[] | Retry {
  if (!statusPasses(prep.expect.status, a.status) && (a.status === 429 || a.status >= 500)) return fromAnswer(a, ctx);
  return runChecks(prep.expect, { status: a.status, text: a.text, truncated: a.truncated, durationMs: a.durationMs });
}

function noteHints(a: HttpAnswer, ctx: TestContext): void {
  const hint = readRateHint(a.headers);
  if (hint) ctx.limiter.hint(hint.remaining, hint.resetS, ctx.lanes());
}

function setupError(err: unknown): ResultError {
  if (err instanceof MissingVariable) return { code: 'TEMPLATE', message: err.message };
  if (err instanceof BadUrl) return { code: 'BAD_URL', message: err.message };
  if (err instanceof BadExpectation) return { code: 'BAD_EXPECT', message: err.message };
  throw err;
}

async function wait(ms: number, cut: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal: cut });
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
  if (ctx.traced?.(rec)) prep.request.sampleBytes = TRACE_BODY_BYTES;
  let last: Retry | null = null;
  for (let attempt = 1; attempt <= ctx.retries + 1; attempt++) {
    // take() is a plain true when nothing limits the pace: no await, no promise.
    const slot = ctx.limiter.take();
    if ((slot !== true && !(await slot)) || ctx.cut.aborted) return null;
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
          outcome: {
            ...base,
            attempts: 0,
            durationMs: 0,
            error: { code: err.code, message: err.message },
            // The request as it was refused (a BAD_HEADER shows which header).
            exchange: { request: prep.request, answer: null },
          },
          secrets: prep.secrets,
        };
      base.durationMs = performance.now() - sentAt;
      base.exchange = { request: prep.request, answer: null };
      last = { error: { code: err.code, message: err.message }, response: null, waitMs: null, retryable: true };
      if (attempt <= ctx.retries && !(await wait(backoffMs(attempt), ctx.cut))) return null;
      continue;
    }
    noteHints(answer, ctx);
    base.exchange = { request: prep.request, answer };
    // The expectations were checked before sending (prepareTest): judging cannot throw.
    const verdict = judge(answer, prep, ctx);
    const timing = { durationMs: answer.durationMs, response: { status: answer.status, bytes: answer.bytes } };
    if (Array.isArray(verdict)) {
      const status = verdict.length === 0 ? 'passed' : 'failed';
      return { outcome: { ...base, ...timing, status, failures: verdict }, secrets: prep.secrets };
    }
    last = { ...verdict, response: timing.response };
    base.durationMs = answer.durationMs;
    if (!verdict.retryable) break;
    if (attempt <= ctx.retries) {
      const ms = verdict.waitMs ?? backoffMs(attempt, Math.random, BACKOFF_BASE_MS);
      if (!(await wait(ms, ctx.cut))) return null;
    }
  }
  const outcome: Outcome = { ...base, response: last?.response ?? null, error: last?.error ?? null };
  return { outcome, secrets: prep.secrets };
}
