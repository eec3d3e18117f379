import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckFailure, ResultError, TestRecord } from '@capi/core';
import { BACKOFF_BASE_MS, backoffMs, parseRetryAfter, timerMs } from './backoff.js';
import { secretCapture, type Taken, takeCaptures } from './capture.js';
import { BadExpectation, cut, runChecks, type Show, statusPasses } from './checks.js';
import { NO_HEADERS } from './exchange.js';
import { type HttpAnswer, type HttpClient, RequestError } from './http-client.js';
import { type PrepareContext, type PreparedTest, prepareTest } from './prepare.js';
import { readRateHint } from './rate-headers.js';
import type { RateLimiter } from './rate-limiter.js';
import type { SecretSet } from './redact.js';
import type { Outcome } from './result.js';
import { neverReached, notRetriedNote, safeToRepeat, TRANSIENT_STATUSES } from './retry-rule.js';
import { BadUrl } from './target.js';
import { EnvNotAllowed, MissingVariable } from './template.js';
import { TRACE_BODY_BYTES } from './trace.js';

/** What one test needs from the run around it. */
export interface TestContext extends PrepareContext {
  client: HttpClient;
  limiter: RateLimiter;
  retries: number;
  /** `--retry-unsafe`: retry requests that are not idempotent after any error too. */
  retryUnsafe: boolean;
  /** Aborted when the grace period after a stop is over: the test is cut, not recorded. */
  cut: AbortSignal;
  /** Aborted at a stop: a wait between tries ends at once (nothing is in flight), the test is cut. */
  waits?: AbortSignal;
  /** Tests per second lately: a 429 halves the pace from there. */
  observedRate(): number;
  lanes(): number;
  /** Whether `--trace` names this test (by id or tag): its body is then kept up to TRACE_BODY_BYTES. */
  traced?: (rec: TestRecord) => boolean;
}

/** What a failed attempt says about trying again. */
interface Retry {
  error: ResultError;
  response: { status: number; bytes: number; decodedBytes?: number } | null;
  /** ms to wait before the next try; null: back off with jitter. */
  waitMs: number | null;
  retryable: boolean;
}

/** A transient answer (429, 502, 503, 504): retried when the request may be repeated, or the API asked for it. */
function fromAnswer(a: HttpAnswer, ctx: TestContext, safe: boolean): Retry {
  const response = responseOf(a);
  const error = { code: `HTTP_${a.status}`, message: `the API answered ${a.status}` };
  if (a.status !== 429 && a.status !== 503) return { error, response, waitMs: null, retryable: safe };
  if (a.status === 429) ctx.limiter.throttle(ctx.observedRate());
  const said = a.headers['retry-after'];
  const waitMs = parseRetryAfter(said);
  // Retry-After says the request was not acted on: even a POST may be sent again.
  if (waitMs === null) return { error, response, waitMs: null, retryable: safe };
  // The whole process waits, not just this test: every lane takes its next start from the
  // limiter. A pause over --max-pause is refused: this test and those waiting end as errors.
  if (!ctx.limiter.pauseFor(waitMs, `Retry-After: ${String(said).trim().slice(0, 60)}`)) {
    error.message += `; ${ctx.limiter.refusal() ?? 'pause refused'}`;
    return { error, response, waitMs, retryable: false };
  }
  return { error, response, waitMs, retryable: true };
}

/**
 * An answered attempt: the expectation wins when the status matches it (expect 503 →
 * passed). A transient status nobody expected is retried; every other answer is the API's
 * and judged by the checks. A status failure shows the start of the body.
 */
function judge(
  a: HttpAnswer,
  prep: PreparedTest,
  ctx: TestContext,
  safe: boolean,
): CheckFailure[] | Promise<CheckFailure[]> | Retry {
  if (TRANSIENT_STATUSES.has(a.status) && !statusPasses(prep.expect.status, a.status)) return fromAnswer(a, ctx, safe);
  return checkAnswer(a, prep, ctx);
}

/** The checks' failures: a promise only when a body regex runs in its worker (runChecks). */
function checkAnswer(a: HttpAnswer, prep: PreparedTest, ctx: TestContext): CheckFailure[] | Promise<CheckFailure[]> {
  const show = showFor(prep.secrets);
  const failures = runChecks(prep.expect, a, show, ctx.cut);
  return Array.isArray(failures) ? statusBody(failures, a, show) : failures.then((f) => statusBody(f, a, show));
}

/** A status failure shows the start of the body. */
function statusBody(failures: CheckFailure[], a: HttpAnswer, show: Show): CheckFailure[] {
  const status = failures.find((f) => f.check === 'status');
  // No check read the body: its kept start (the sample) is decoded only now, for this failure.
  if (!status) return failures;
  const body = a.text !== '' ? a.text : Buffer.concat(a.sample).toString('utf8');
  if (body !== '') status.actual = `${a.status}, body: ${show(body)}`;
  return failures;
}

/** The result's `response`: the status and the body's size on the wire, and decoded when it was encoded. */
function responseOf(a: HttpAnswer): { status: number; bytes: number; decodedBytes?: number } {
  const r = { status: a.status, bytes: a.bytes };
  return a.decodedBytes === null ? r : { ...r, decodedBytes: a.decodedBytes };
}

/** Failure texts are redacted whole, then cut: a secret never loses only its head. */
const showFor =
  (secrets: SecretSet): Show =>
  (text) =>
    cut(secrets.redact(text));

function noteHints(a: HttpAnswer, ctx: TestContext): void {
  if (a.headers === NO_HEADERS) return;
  const hint = readRateHint(a.headers);
  if (hint) ctx.limiter.hint(hint.remaining, hint.resetS, ctx.lanes(), hint.said);
}

function setupError(err: unknown): ResultError {
  if (err instanceof MissingVariable) return { code: 'TEMPLATE', message: err.message };
  if (err instanceof BadUrl) return { code: 'BAD_URL', message: err.message };
  if (err instanceof BadExpectation) return { code: 'BAD_EXPECT', message: err.message };
  if (err instanceof EnvNotAllowed) return { code: 'TEMPLATE', message: err.message };
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

/** An answer that is judged, not retried (judge's first test): captures read it. */
const final = (a: HttpAnswer, prep: PreparedTest) =>
  !TRANSIENT_STATUSES.has(a.status) || statusPasses(prep.expect.status, a.status);

/** The test's captures; the secret ones join the run's secrets before anything is written. */
async function captureFrom(rec: TestRecord, a: HttpAnswer, ctx: TestContext): Promise<Taken> {
  const taken = await takeCaptures(rec.capture ?? [], a, ctx.cut);
  for (const c of rec.capture ?? [])
    if (Object.hasOwn(taken.values, c.name) && secretCapture(rec.phase, c))
      ctx.secrets.add(taken.values[c.name] as string);
  return taken;
}

/** What a finished test hands back: its outcome, the secrets to redact it with, where it went. */
export interface TestDone {
  outcome: Outcome;
  secrets: SecretSet;
  /** The origin the request went to; null when it was never prepared (a bad template or URL). */
  origin: string | null;
}

/** A failed attempt that got no answer: retried when repeating it is harmless or it never reached the server. */
function fromError(err: RequestError, safe: boolean, method: string, retries: number): Retry {
  const retryable = safe || neverReached(err.code, err.detail);
  const note = !retryable && retries > 0 ? ` (${notRetriedNote(method)})` : '';
  return { error: { code: err.code, message: `${err.message}${note}` }, response: null, waitMs: null, retryable };
}

/**
 * Runs one test with its retries. Null when it was cut by a stop: it is then not recorded.
 * Long because it is one attempt loop whose every exit (cut, pause refused, never sent,
 * no answer, judged) returns from the same state (`base`, `last`, `safe`); the parts that
 * need no control flow are already apart (`fromError`, `judge`, `captureFrom`, `wait`).
 */
export async function runTest(rec: TestRecord, ctx: TestContext): Promise<TestDone | null> {
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
    return { outcome: { ...base, error: setupError(err) }, secrets: ctx.secrets, origin: null };
  }
  const { secrets } = prep;
  const origin = prep.request.origin;
  const safe = safeToRepeat(prep.request.method, prep.request.headers, ctx.retryUnsafe);
  if (ctx.traced?.(rec)) prep.request.sampleBytes = TRACE_BODY_BYTES;
  let last: Retry | null = null;
  for (let attempt = 1; attempt <= ctx.retries + 1; attempt++) {
    // take() is a plain true when nothing limits the pace: no await, no promise.
    const slot = ctx.limiter.take();
    if ((slot !== true && !(await slot)) || ctx.cut.aborted) {
      const why = ctx.cut.aborted ? null : ctx.limiter.refusal();
      if (!why) return null;
      // A pause over --max-pause: the test is not sent (or not sent again), and says why.
      const error = { code: 'PAUSE_TOO_LONG', message: why };
      return { outcome: { ...base, error, response: last?.response ?? null }, secrets, origin };
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
          outcome: {
            ...base,
            attempts: 0,
            durationMs: 0,
            error: { code: err.code, message: err.message },
            // The request as it was refused (a BAD_HEADER shows which header).
            exchange: { request: prep.request, answer: null },
          },
          secrets,
          origin,
        };
      base.durationMs = performance.now() - sentAt;
      base.exchange = { request: prep.request, answer: null };
      last = fromError(err, safe, prep.request.method, ctx.retries);
      if (!last.retryable) break;
      if (attempt <= ctx.retries && !(await wait(backoffMs(attempt), ctx))) return null;
      continue;
    }
    noteHints(answer, ctx);
    base.exchange = { request: prep.request, answer };
    // Captures before the checks: a secret they take (a login's token) is redacted in the
    // failure texts the checks write (a status failure shows the body).
    const taken = rec.capture && final(answer, prep) ? await captureFrom(rec, answer, ctx) : null;
    // The expectations were checked before sending (prepareTest): judging cannot throw.
    const judged = judge(answer, prep, ctx, safe);
    const verdict = judged instanceof Promise ? await judged : judged;
    // A body regex still waiting for its worker when the grace ran out: cut, like a request.
    if (ctx.cut.aborted) return null;
    const response = responseOf(answer);
    base.durationMs = answer.durationMs;
    if (Array.isArray(verdict)) {
      // The test's own outcome, filled in: no copy of it per test (issue 16).
      const failures = taken ? [...verdict, ...taken.failures] : verdict;
      base.status = failures.length === 0 ? 'passed' : 'failed';
      base.response = response;
      base.failures = failures;
      if (taken) base.captured = taken.values;
      return { outcome: base, secrets, origin };
    }
    last = { ...verdict, response };
    if (!verdict.retryable) {
      if (attempt <= ctx.retries && !safe && verdict.waitMs === null)
        last.error.message += ` (${notRetriedNote(prep.request.method)})`;
      break;
    }
    if (attempt <= ctx.retries) {
      const ms = verdict.waitMs ?? backoffMs(attempt, Math.random, BACKOFF_BASE_MS);
      if (!(await wait(ms, ctx))) return null;
    }
  }
  const outcome: Outcome = { ...base, response: last?.response ?? null, error: last?.error ?? null };
  return { outcome, secrets, origin };
}
