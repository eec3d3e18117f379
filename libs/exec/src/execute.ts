import { formatShard, journalBaseUrl, type Shard, type TestRecord } from '@capi/core';
import { type ControlMemory, watchControl } from './control.js';
import { type EngineOptions, runTests, type Summary } from './engine.js';
import { startHeartbeat } from './heartbeat.js';
import { type JournalSession, type JournalSessionInput, openJournalSession } from './journal-session.js';
import { createLiveState, type LiveState } from './live-state.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { recordChecks } from './record-checks.js';
import { type ExecResult, resultJson } from './result.js';
import { CheckedRead, readTestRecords } from './suite.js';

/** Everything capi-exec does around the engine: input, resume, journal, heartbeat, control. */
export interface ExecuteOptions extends Omit<EngineOptions, 'shard' | 'fingerprints' | 'answeredBefore'> {
  input: AsyncIterable<Buffer | string>;
  /** Name of the input in messages: a path or `<stdin>`. */
  source: string;
  /** A second read of the input (files only), to compare the suite with the journal before running. */
  reread: (() => AsyncIterable<Buffer | string>) | null;
  /**
   * `input` and `reread` give the same bytes, held in memory (a small batch file read
   * whole): the run takes the records the first read made and checked, instead of parsing
   * and checking the same bytes again (a worker did both for every batch; issue 16).
   */
  sameBytes?: boolean;
  shard: Shard | null;
  journal: string | null;
  fsync: boolean;
  force: boolean;
  status: string | null;
  control: string | null;
  total: number | null;
  /** A line for people (stderr). */
  log: (line: string) => void;
  /**
   * The control.json limits last taken, kept by a process that runs more than one batch
   * (`--serve`, which starts it with run.json's rate); else each run starts afresh.
   */
  controlMemory?: ControlMemory;
  /** The process's rate limiter when it runs more than one batch (`--serve`); else one is made. */
  limiter?: RateLimiter;
  /** Called once, before anything is read, with the run's live state (the progress line reads it). */
  onLive?: (live: LiveState) => void;
}

export interface ExecuteSummary extends Summary {
  /** Tests skipped because the journal already had them. */
  resumed: number;
  /** Of those, how many had failed or errored (they count for the exit code). */
  resumedNotPassed: number;
}

/**
 * Where stdout results go, as the JSON text of the record (serialized once for the journal
 * and stdout both); awaited, so stdout backpressure holds the run.
 */
export type ResultOut = (json: string, result: ExecResult) => Promise<void> | void;

/** What one run shares between its parts: made here once. */
interface Shared {
  live: LiveState;
  limiter: RateLimiter;
}

/**
 * How often control.json is read again: a quarter second, so that when workers run out of
 * batches the others take up their share of `--rate` at once (a run's tail), and a
 * `--pause` holds within a quarter second. A read of a small file: nothing to measure.
 */
const CONTROL_EVERY_MS = 250;

const NOTHING_DONE: ReadonlyMap<string, string> = new Map();

/** Hands on the records read (a chunk at a time) while keeping them in `into`. */
async function* keeping(records: AsyncIterable<TestRecord[]>, into: TestRecord[]): AsyncGenerator<TestRecord[]> {
  for await (const chunk of records) {
    for (const rec of chunk) into.push(rec);
    yield chunk;
  }
}

/** Records already in memory (a small batch kept by its first read), as the run's one chunk. */
async function* whole(records: TestRecord[]): AsyncGenerator<TestRecord[]> {
  if (records.length > 0) yield records;
}

/**
 * The journal session's narrow input, from the command's options; `kept` receives the
 * records of the first read, or `checked` notes what it checked for the run's read.
 */
function sessionInput(
  opts: ExecuteOptions,
  path: string,
  kept: TestRecord[] | null,
  checked: CheckedRead | undefined,
): JournalSessionInput {
  const { reread } = opts;
  const check = (again: () => AsyncIterable<Buffer | string>, done: ReadonlyMap<string, string>) =>
    readTestRecords(again(), opts.source, opts.shard, { unique: true, check: recordChecks(opts, done), checked });
  return {
    path,
    fsync: opts.fsync,
    force: opts.force,
    made: {
      shard: opts.shard ? formatShard(opts.shard) : null,
      batch: opts.batch,
      baseUrl: journalBaseUrl(opts.base ? `${opts.base.origin}${opts.base.prefix}` : null),
    },
    // A file is read once before anything runs: a repeated id, a relative URL with no base
    // URL or an env a test may not read is refused before any test ran.
    reread: reread ? (done) => (kept ? keeping(check(reread, done), kept) : check(reread, done)) : null,
    log: opts.log,
  };
}

export async function execute(opts: ExecuteOptions, out: ResultOut): Promise<ExecuteSummary> {
  const live = createLiveState(opts.concurrency, opts.total);
  opts.onLive?.(live);
  const shared: Shared = { live, limiter: opts.limiter ?? createRateLimiter(opts.rate, undefined, opts.maxPauseMs) };
  let journal: JournalSession | null = null;
  // Filled by the first read when it reads the very bytes the run would read again.
  const kept: TestRecord[] | null = opts.sameBytes && opts.reread ? [] : null;
  // Otherwise the run reads the file again, through what the first read checked.
  const checked = opts.reread && !kept ? new CheckedRead() : undefined;
  // The heartbeat starts before the journal is read: a resume of a large journal takes a
  // while, and capi-launch's stall watchdog judges a worker by its heartbeat.
  const heartbeat = opts.status ? startHeartbeat(opts.status, live, opts.batch, opts.log) : null;
  try {
    if (opts.journal) journal = await openJournalSession(sessionInput(opts, opts.journal, kept, checked));
    return await run(opts, out, shared, journal, journal ? kept : null, journal ? checked : undefined);
  } catch (err) {
    if (live.state === 'starting') live.state = 'failed';
    throw err;
  } finally {
    try {
      await journal?.close();
    } finally {
      await heartbeat?.final();
    }
  }
}

const endState = (summary: Summary | null): LiveState['state'] =>
  !summary ? 'failed' : summary.stoppedBy === 'stop' ? 'stopped' : summary.stoppedBy ? 'failed' : 'completed';

async function run(
  opts: ExecuteOptions,
  out: ResultOut,
  { live, limiter }: Shared,
  journal: JournalSession | null,
  kept: TestRecord[] | null,
  checked: CheckedRead | undefined,
): Promise<ExecuteSummary> {
  // a stop comes as a signal (opts.stop) or, for a worker on another machine, from control.json
  const stopper = new AbortController();
  const stopNow = () => {
    if (!stopper.signal.aborted) stopper.abort();
  };
  if (opts.stop?.aborted) stopNow();
  opts.stop?.addEventListener('abort', stopNow, { once: true });
  const control = opts.control
    ? watchControl(opts.control, live, limiter, {
        defaults: { rate: opts.rate, concurrency: opts.concurrency },
        everyMs: CONTROL_EVERY_MS,
        onStop: () => {
          if (!stopper.signal.aborted)
            opts.log('control.json says stop: taking no new tests; waiting for the ones in flight (--grace)');
          stopNow();
        },
        ...(opts.controlMemory ? { memory: opts.controlMemory } : {}),
        log: opts.log,
      })
    : null;
  await control?.poll();
  // With a journal, ids must be unique (it holds each id once); a file was checked before anything ran.
  // The same checks with the same `done` passed on the first read of these bytes: not made twice.
  let records: AsyncIterable<TestRecord[]> = kept
    ? whole(kept)
    : readTestRecords(opts.input, opts.source, opts.shard, {
        unique: journal !== null,
        check: recordChecks(opts, journal?.done ?? NOTHING_DONE),
        checked,
      });
  if (journal) records = journal.pending(records, live);
  const sink = journal
    ? (r: ExecResult) => {
        const json = resultJson(r);
        // The journal first: a test counts as done only once it is there. One `then` on
        // the write's shared promise, not an async function's promise and two awaits.
        return journal.append(json).then(() => out(json, r));
      }
    : (r: ExecResult) => out(resultJson(r), r);
  const engine: EngineOptions = {
    ...opts,
    stop: stopper.signal,
    shard: opts.shard ? formatShard(opts.shard) : null,
    fingerprints: journal !== null,
    answeredBefore: journal?.answered === true,
    flowRuns: journal?.flowRuns,
    warn: opts.warn ?? opts.log,
  };
  let summary: Summary | null = null;
  try {
    summary = await runTests(records, engine, sink, { live, limiter });
  } finally {
    control?.stop();
    opts.stop?.removeEventListener('abort', stopNow);
    live.state = endState(summary);
  }
  const left = journal?.done.size ?? 0;
  if (summary.stoppedBy === null && live.resumed > 0 && left > 0)
    opts.log(`note: ${left} ids in the journal are not in this suite`);
  return { ...summary, resumed: live.resumed, resumedNotPassed: live.resumedNotPassed };
}
