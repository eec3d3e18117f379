import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckFailure, ResultError, TestRecord } from '@capi/core';
import { monotonicMs } from '@capi/core';
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
import {
  answersTheSameAgain,
  neverReached,
  notRetriedNote,
  safeToRepeat,
  sameAgainNote,
  TRANSIENT_STATUSES,
} from './retry-rule.js';
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
  const again = answersTheSameAgain(err.detail);
  const retryable = !again && (safe || neverReached(err.code, err.detail));
  const why = again ? sameAgainNote : notRetriedNote(method);
  const note = !retryable && retries > 0 ? ` (${why})` : '';
  return { error: { code: err.code, message: `${err.message}${note}` }, response: null, waitMs: null, retryable };
}

/** A test between its tries: what every try reads and writes. */
interface Tries {
  rec: TestRecord;
  ctx: TestContext;
  /** The outcome, filled in as the tries go. */
  base: Outcome;
  prep: PreparedTest;
  secrets: SecretSet;
  origin: string;
  safe: boolean;
  /** The last failed try, or null. */
  last: Retry | null;
}

/** What a try leaves: the test's end (null: cut), or a wait of `waitMs` before the next try. */
type Step = TestDone | null | { waitMs: number };

const isEnd = (s: Step): s is TestDone | null => s === null || 'outcome' in s;

/** The test's prepared request and state, or its end when it cannot be prepared (a bad template or URL). */
function startTest(rec: TestRecord, ctx: TestContext): Tries | TestDone {
  const base: Outcome = {
    status: 'error',
    attempts: 0,
    startedAt: Date.now(),
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
  const safe = safeToRepeat(prep.request.method, prep.request.headers, ctx.retryUnsafe);
  if (ctx.traced?.(rec)) prep.request.sampleBytes = TRACE_BODY_BYTES;
  return { rec, ctx, base, prep, secrets: prep.secrets, origin: prep.request.origin, safe, last: null };
}

/** The limiter refused a try (a pause over --max-pause) or a stop came: cut (null), or an error that says why. */
function refusedTry(t: Tries): TestDone | null {
  const why = t.ctx.cut.aborted ? null : t.ctx.limiter.refusal();
  if (!why) return null;
  // A pause over --max-pause: the test is not sent (or not sent again), and says why.
  const error = { code: 'PAUSE_TOO_LONG', message: why };
  return { outcome: { ...t.base, error, response: t.last?.response ?? null }, secrets: t.secrets, origin: t.origin };
}

/** A try begins: its start time; `monotonicMs()` as it is sent. */
function beginTry(t: Tries, attempt: number): number {
  // startedAt and durationMs describe the final attempt, so startedAt + durationMs is
  // when the test ended (what capi-merge takes for wall time); `attempts` counts the tries.
  t.base.startedAt = Date.now();
  t.base.attempts = attempt;
  return monotonicMs();
}

/** The client's promise; a throw before it has one is its rejection, as an await would take it. */
function sendTry(t: Tries): Promise<HttpAnswer> {
  try {
    return t.ctx.client.send(t.prep.request);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** A try that got no answer. */
function failedTry(t: Tries, err: unknown, attempt: number, sentAt: number): Step {
  const { ctx, prep, base } = t;
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
      secrets: t.secrets,
      origin: t.origin,
    };
  base.durationMs = monotonicMs() - sentAt;
  base.exchange = { request: prep.request, answer: null };
  t.last = fromError(err, t.safe, prep.request.method, ctx.retries);
  if (!t.last.retryable || attempt > ctx.retries) return endOf(t);
  return { waitMs: backoffMs(attempt) };
}

/** An answered try: captures, then the checks (a promise only when one of them waits). */
function answeredTry(t: Tries, answer: HttpAnswer, attempt: number): Step | Promise<Step> {
  noteHints(answer, t.ctx);
  t.base.exchange = { request: t.prep.request, answer };
  // Captures before the checks: a secret they take (a login's token) is redacted in the
  // failure texts the checks write (a status failure shows the body).
  if (t.rec.capture && final(answer, t.prep))
    return captureFrom(t.rec, answer, t.ctx).then((taken) => judgedTry(t, answer, attempt, taken));
  return judgedTry(t, answer, attempt, null);
}

function judgedTry(t: Tries, answer: HttpAnswer, attempt: number, taken: Taken | null): Step | Promise<Step> {
  // The expectations were checked before sending (prepareTest): judging cannot throw.
  const judged = judge(answer, t.prep, t.ctx, t.safe);
  return judged instanceof Promise
    ? judged.then((verdict) => verdictOf(t, answer, attempt, taken, verdict))
    : verdictOf(t, answer, attempt, taken, judged);
}

function verdictOf(
  t: Tries,
  answer: HttpAnswer,
  attempt: number,
  taken: Taken | null,
  verdict: CheckFailure[] | Retry,
): Step {
  const { base, ctx } = t;
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
    return { outcome: base, secrets: t.secrets, origin: t.origin };
  }
  const last: Retry = { ...verdict, response };
  t.last = last;
  if (!verdict.retryable) {
    if (attempt <= ctx.retries && !t.safe && verdict.waitMs === null)
      last.error.message += ` (${notRetriedNote(t.prep.request.method)})`;
    return endOf(t);
  }
  if (attempt > ctx.retries) return endOf(t);
  return { waitMs: verdict.waitMs ?? backoffMs(attempt, Math.random, BACKOFF_BASE_MS) };
}

/** Every try failed (or the last may not be repeated): the last one's error. */
function endOf(t: Tries): TestDone {
  const outcome: Outcome = { ...t.base, response: t.last?.response ?? null, error: t.last?.error ?? null };
  return { outcome, secrets: t.secrets, origin: t.origin };
}

/** A try's step as the test's end: a wait, then the tries from the next one. */
function nextTry(t: Tries, step: Step | Promise<Step>, attempt: number): TestDone | null | Promise<TestDone | null> {
  if (step instanceof Promise) return step.then((s) => nextTry(t, s, attempt));
  if (isEnd(step)) return step;
  return wait(step.waitMs, t.ctx).then((ok) => (ok ? tries(t, attempt + 1, null) : null));
}

/**
 * The tries from `from` on, one after another, as an async loop: a try the limiter makes
 * wait, a retry. `slot` is the first one's turn when it was already taken.
 */
async function tries(t: Tries, from: number, slot: boolean | Promise<boolean> | null): Promise<TestDone | null> {
  const { ctx } = t;
  for (let attempt = from; attempt <= ctx.retries + 1; attempt++) {
    // take() is a plain true when nothing limits the pace: no await, no promise.
    const turn = attempt === from && slot !== null ? slot : ctx.limiter.take();
    if ((turn !== true && !(await turn)) || ctx.cut.aborted) return refusedTry(t);
    const sentAt = beginTry(t, attempt);
    let answer: HttpAnswer | undefined;
    let step: Step | Promise<Step> | undefined;
    try {
      answer = await ctx.client.send(t.prep.request);
    } catch (err) {
      step = failedTry(t, err, attempt, sentAt);
    }
    if (answer !== undefined) step = answeredTry(t, answer, attempt);
    const s = step instanceof Promise ? await step : (step as Step);
    if (isEnd(s)) return s;
    if (!(await wait(s.waitMs, ctx))) return null;
  }
  return endOf(t);
}

/**
 * Runs one test with its retries. Null when it was cut by a stop: it is then not recorded.
 * The first try of a test the limiter lets go at once is a `then` on the client's promise,
 * with no async function (issue 16); a try that must wait for its turn, and every retry,
 * go through the loop in `tries`. Every effect comes in the same order either way.
 */
export function runTest(rec: TestRecord, ctx: TestContext): Promise<TestDone | null> {
  try {
    const t = startTest(rec, ctx);
    if (!('prep' in t)) return Promise.resolve(t);
    const slot = ctx.limiter.take();
    if (slot !== true || ctx.cut.aborted) return tries(t, 1, slot);
    const sentAt = beginTry(t, 1);
    return sendTry(t).then(
      (answer) => nextTry(t, answeredTry(t, answer, 1), 1),
      (err: unknown) => nextTry(t, failedTry(t, err, 1, sentAt), 1),
    );
  } catch (err) {
    return Promise.reject(err);
  }
}
