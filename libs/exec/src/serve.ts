import { appendFileSync, createReadStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CapiError,
  DIR_MODE,
  ExitCode,
  type ExitCodeValue,
  FILE_MODE,
  fsReason,
  InputError,
  isBatchName,
  isErrnoException,
  monotonicMs,
  oneChunk,
  readNdjson,
  runPaths,
  setAsideNoteSync,
} from '@capi/core';
import { type ControlMemory, recordedControl } from './control.js';
import { clientFor } from './engine.js';
import { type ExecuteOptions, execute } from './execute.js';
import type { HttpClient } from './http-client.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { endLines, runExitCode, signalExitCode } from './run-end.js';

/** What `--serve` takes from the command line: everything but what each batch brings. */
export type ServeBase = Omit<
  ExecuteOptions,
  'input' | 'source' | 'reread' | 'journal' | 'status' | 'batch' | 'total' | 'log'
>;

export interface ServeOptions {
  /** The run folder whose batches/, results/, status/ and logs/ the batches use (core runPaths). */
  runDir: string;
  base: ServeBase;
  /** The supervisor's requests, one JSON line each: `{"batch":"batch_0001","total":100}`. */
  requests: AsyncIterable<Buffer | string>;
  /** Writes one answer line (`{"batch":…,"code":N}`) to the supervisor. */
  answer: (line: string) => Promise<void> | void;
  /** A signal: the batch running stops as a one-batch capi-exec would, and no other starts. */
  stop: AbortSignal;
  /** Which signal stopped it (the batch's code: 130 or 143). */
  signal: () => NodeJS.Signals | null;
  quiet: boolean;
  /** Lines for people that belong to no batch (the process's own stderr). */
  log: (line: string) => void;
}

/** What the batches of one process share: the pace (`--rate`) and the keep-alive connections. */
interface Kept {
  limiter: RateLimiter;
  client: HttpClient;
}

/** What the process carries from batch to batch whatever happens: control.json's last limits, what it said of its logs. */
interface Carried {
  control: ControlMemory;
  logs: LogTrouble;
}

interface Request {
  batch: string;
  total: number | null;
}

/** A request line from the supervisor; anything else is a broken protocol, not a batch to skip. */
function parseRequest(value: unknown, line: number): Request {
  const r = value as { batch?: unknown; total?: unknown } | null;
  if (!r || typeof r !== 'object' || !isBatchName(r.batch))
    throw new InputError('<stdin>', line, 'field "batch": a batch name such as batch_0001 is required (--serve)');
  const total = r.total;
  if (total !== undefined && total !== null && !(Number.isSafeInteger(total) && (total as number) >= 0))
    throw new InputError('<stdin>', line, 'field "total": a whole number of tests or null (--serve)');
  return { batch: r.batch, total: (total as number | null | undefined) ?? null };
}

/** Batch files up to this size are read once, whole (the default 100 tests are some 30 KB). */
const READ_WHOLE_BYTES = 4 * 1024 * 1024;

/**
 * Up to this size the records of the check read are kept for the run (parsed and checked
 * once): a few MB of records at most, where a larger batch is parsed twice from memory.
 */
const KEEP_RECORDS_BYTES = 1024 * 1024;

/**
 * logs/<batch>.log, as a one-batch capi-exec's stderr would be (capi-launch reads a give-up's
 * reason there, capi-watch shows it). capi-launch makes logs/, but a user or a cleanup may
 * remove it under a live run: the folder is made again (owner-only, logs/ alone: a run
 * folder that is gone is not made again), since a message lost there is a give-up's
 * reason lost, and the process's stderr says so once. A log that cannot be written at all
 * (a full disk) does not stop the tests (the journal is the record): the process's stderr
 * says that once, with the reason, and the batches go on.
 */
export function batchLog(file: string, said: LogTrouble, stderr: (line: string) => void): (line: string) => void {
  const append = (line: string) => appendFileSync(file, `capi-exec: ${line}\n`, { mode: FILE_MODE });
  return (line) => {
    try {
      append(line);
      return;
    } catch (err) {
      if (!isErrnoException(err) || err.code !== 'ENOENT') return troubleOnce(said, stderr, file, err);
    }
    try {
      mkdirSync(dirname(file), { mode: DIR_MODE });
      if (!said.remade)
        stderr(`${dirname(file)} was missing (removed under a live run): made again for the batches' messages`);
      said.remade = true;
      append(line);
    } catch (err) {
      troubleOnce(said, stderr, file, err);
    }
  };
}

/** What a `--serve` process has said about its batch logs: each kind of trouble once. */
export interface LogTrouble {
  remade?: boolean;
  unwritable?: boolean;
}

function troubleOnce(said: LogTrouble, stderr: (line: string) => void, file: string, err: unknown): void {
  if (said.unwritable) return;
  said.unwritable = true;
  const reason = isErrnoException(err) ? fsReason(err.code) : String(err);
  stderr(
    `cannot write ${file}: ${reason}; the batches go on without their messages there (the journals are the record)`,
  );
}

/** The code and message of an expected failure of one batch; anything else is a crash. */
function failureOf(err: unknown): { code: ExitCodeValue; message: string } | null {
  if (err instanceof CapiError) return { code: err.exitCode, message: err.message };
  if (isErrnoException(err) && err.syscall && err.path)
    return { code: ExitCode.cannotRun, message: `cannot ${err.syscall} ${err.path}: ${fsReason(err.code)}` };
  return null;
}

/** A batch's code, and when the `--delay` after its last test ends (engine.ts `pauseOwedUntil`). */
interface BatchEnd {
  code: ExitCodeValue;
  pauseOwedUntil: number | null;
}

/** Runs one batch of the run folder exactly as `capi-exec --in … --journal … --status … --batch …` would. */
async function runBatch(o: ServeOptions, req: Request, kept: Kept, carried: Carried): Promise<BatchEnd> {
  const p = runPaths(o.runDir);
  const file = p.batchFile(req.batch);
  const log = batchLog(p.logFile(req.batch), carried.logs, o.log);
  try {
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st?.isFile()) {
      const aside = setAsideNoteSync(dirname(file));
      throw new InputError(file, undefined, `cannot read: no such file${aside ? ` (${aside})` : ''}`);
    }
    // a batch is read twice (checked, then run): a small one once, from memory
    const text = st.size <= READ_WHOLE_BYTES ? readFileSync(file) : null;
    const read = (): AsyncIterable<Buffer> => (text ? oneChunk(text) : createReadStream(file));
    const summary = await execute(
      {
        ...o.base,
        input: read(),
        source: file,
        reread: read,
        sameBytes: text !== null && text.length <= KEEP_RECORDS_BYTES,
        journal: p.resultFile(req.batch),
        status: p.statusFile(req.batch),
        batch: req.batch,
        total: req.total,
        limiter: kept.limiter,
        client: kept.client,
        controlMemory: carried.control,
        stop: o.stop,
        log,
      },
      () => {},
    );
    for (const line of endLines(summary, o.quiet)) log(line);
    return { code: runExitCode(summary, o.signal()), pauseOwedUntil: summary.pauseOwedUntil ?? null };
  } catch (err) {
    const failure = failureOf(err);
    if (!failure) throw err;
    log(failure.message);
    return { code: failure.code, pauseOwedUntil: null };
  }
}

/**
 * `capi-exec --serve RUN`: one process runs batch after batch of a run folder, as the
 * supervisor asks, so a launched run pays node's start-up once per worker instead of once
 * per batch. Each batch keeps its own journal, heartbeat and log, and is answered with the
 * code a one-batch capi-exec would have exited with; claims, resume and the supervisor's
 * judgement of a batch are unchanged. The rate limiter and the HTTP client are the
 * process's, so `--rate` holds across batches and connections are kept. After a batch
 * that gave up (exit 3) no other starts: each later request is answered with code null. Returns when the requests end (0) or a signal stopped it.
 */
export async function serveBatches(o: ServeOptions): Promise<ExitCodeValue> {
  const fresh = (): Kept => ({
    limiter: createRateLimiter(o.base.rate, undefined, o.base.maxPauseMs),
    client: clientFor(o.base),
  });
  let kept = fresh();
  // a control.json rate or workers the worker does not take keeps the last one it took;
  // before any, run.json's (a hand edit made before this worker started must not lift the limit)
  const carried: Carried = {
    control: o.base.control ? await recordedControl(runPaths(o.runDir).manifest) : {},
    logs: {},
  };
  let gaveUp = false;
  let pauseOwedUntil: number | null = null;
  try {
    for await (const { value, line } of readNdjson(o.requests, { source: '<stdin>' })) {
      if (o.stop.aborted) break;
      const req = parseRequest(value, line);
      if (gaveUp) {
        // capi-launch's rule: after a give-up no batch starts; it sent this one ahead
        await o.answer(JSON.stringify({ batch: req.batch, code: null }));
        continue;
      }
      // --delay: the pause after the last batch's last test, owed only now that a batch
      // follows (its answer went out without it: the run's last batch ends with its tests)
      const owed = pauseOwedUntil === null ? 0 : pauseOwedUntil - monotonicMs();
      if (owed > 0) await sleep(owed, undefined, { signal: o.stop }).catch(() => {});
      if (o.stop.aborted) break;
      const { code, pauseOwedUntil: next } = await runBatch(o, req, kept, carried);
      pauseOwedUntil = next;
      gaveUp = code === ExitCode.cannotRun;
      // a batch that stopped early cancelled the limiter for good (and its grace may have
      // destroyed the client): the next one starts afresh
      if (code !== ExitCode.ok && code !== ExitCode.testsFailed) {
        void kept.client.close().catch(() => {});
        kept = fresh();
      }
      await o.answer(JSON.stringify({ batch: req.batch, code }));
      if (o.stop.aborted) break;
    }
  } catch (err) {
    // a stop ends the requests early (stdin is closed on a signal): that is not an error
    if (!o.stop.aborted) throw err;
  } finally {
    await kept.client.close().catch(() => {});
  }
  const sig = o.signal();
  return sig ? signalExitCode(sig) : ExitCode.ok;
}
