import {
  countResult,
  cutText,
  DEBUG_MESSAGE_CHARS,
  formatStory,
  noteAnswerJudged,
  type TestDebug,
  type TestRecord,
} from '@capi/core';
import type { EngineOptions, ResultSink } from './engine.js';
import { fingerprint } from './fingerprint.js';
import type { LiveState } from './live-state.js';
import { tooManyErrors } from './max-errors.js';
import type { SecretSet } from './redact.js';
import { type ExecResult, makeResult, type Outcome } from './result.js';
import type { RunStop } from './run-stop.js';
import { makeDebug, TRACE_BODY_BYTES, tracedUpFront } from './trace.js';

/** Records one finished test: the result made, traced, handed to the sink, then counted. */
export type RecordResult = (rec: TestRecord, outcome: Outcome, secrets: SecretSet) => Promise<void>;

export const skippedOutcome = (): Outcome => ({
  status: 'skipped',
  attempts: 0,
  startedAt: Date.now(),
  durationMs: 0,
  response: null,
  failures: [],
  error: null,
});

/**
 * The last pass over what is written: failure texts were redacted whole before they were
 * cut (run-one.ts); error messages (a URL that carries a key) are redacted here. Secrets
 * met later in the run than the text was made (a test's env value) are caught again. An
 * error message is then cut (a BAD_URL quotes a URL a captured value may make any length).
 */
function redactOutcome(o: Outcome, secrets: SecretSet): void {
  if (secrets.size > 0)
    for (const f of o.failures) {
      f.expected = secrets.redact(f.expected);
      f.actual = secrets.redact(f.actual);
    }
  if (o.error) o.error.message = cutText(secrets.redact(o.error.message), DEBUG_MESSAGE_CHARS);
}

/** `--trace`: the story of a test it names, or of a failed one with `failed`. */
function traceResult(options: EngineOptions, rec: TestRecord, result: ExecResult, o: Outcome, secrets: SecretSet) {
  const trace = options.trace;
  if (!trace || !(tracedUpFront(trace.selector, rec) || (trace.selector.failed && result.debug))) return;
  const ex = o.exchange;
  let debug: TestDebug | null = null;
  if (ex) debug = makeDebug(ex.request, ex.answer, (t) => secrets.redact(t), TRACE_BODY_BYTES);
  trace.write(formatStory(result, debug));
}

/** What a plain sink (stdout with room) leaves to wait for: nothing, one shared promise. */
const RECORDED: Promise<void> = Promise.resolve();

export function resultRecorder(options: EngineOptions, live: LiveState, sink: ResultSink, stop: RunStop): RecordResult {
  let judged = false;
  /** Counted once the sink took the result (the journal's line written). */
  const count = (rec: TestRecord, result: ExecResult) => {
    // Setup and teardown rows are not tests: not counted, never --max-errors. A failed
    // teardown row fails the run all the same (core testsVerdict): a cleanup did not happen.
    if (rec.phase === 'teardown' && (result.status === 'failed' || result.status === 'error')) live.teardownFailed++;
    if (rec.phase !== undefined) return;
    countResult(live, result.status);
    // A judged answer makes the run worth a code cache (core code-cache.ts), noted as it is
    // counted: a run may end with its exit code before runTests returns (stdout closed: EPIPE).
    if (!judged && (result.status === 'passed' || result.status === 'failed')) {
      judged = true;
      noteAnswerJudged();
    }
    const why = stop.cause ? null : tooManyErrors(live, options.maxErrors);
    if (why) stop.end('max-errors', why);
  };
  // Not an async function: one `then` on the sink's promise instead of a promise of its
  // own and an await (issue 16). Every caller calls it inside an async function or a
  // `then` callback, so a throw here still reaches it as a rejection.
  return (rec, outcome, secrets) => {
    redactOutcome(outcome, secrets);
    const flowRun = rec.flow === undefined ? undefined : options.flowRuns?.get(rec.flow);
    const result = makeResult(rec, outcome, options, options.fingerprints ? fingerprint(rec) : undefined, flowRun);
    const ex = outcome.exchange;
    // Only failed and error results keep their exchange: a passed one has nothing to explain.
    if (ex && (result.status === 'failed' || result.status === 'error'))
      result.debug = makeDebug(ex.request, ex.answer, (t) => secrets.redact(t));
    traceResult(options, rec, result, outcome, secrets);
    const pending = sink(result);
    if (pending) return pending.then(() => count(rec, result));
    count(rec, result);
    return RECORDED;
  };
}
