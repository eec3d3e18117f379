import {
  CapiError,
  ExitCode,
  isErrnoException,
  type Journal,
  type JournalMeta,
  journalMetaPath,
  openJournal,
  readJournalMeta,
  type TestRecord,
  writeJournalMeta,
} from '@capi/core';
import { badLinesPath, setAsideBadLines } from './bad-lines.js';
import { describeChange, fingerprint } from './fingerprint.js';
import { resumeFlows } from './flow-resume.js';
import { lockJournal } from './journal-lock.js';
import type { LiveState } from './live-state.js';
import { ChangeLog, checkMeta, FINGERPRINT_SCHEME, type JournalState, loadJournalState } from './resume.js';

/**
 * The one door to a journal (`--journal`): its lock, the resume state, the `.meta.json`
 * sidecar, the comparison with the suite, the open file, each append and the release.
 * Everything else in capi-exec sees the tests already done, `append` and `close`.
 */
export interface JournalSessionInput {
  path: string;
  fsync: boolean;
  /** `--force`: resume a journal made another way; changed tests keep their results. */
  force: boolean;
  /** How this run makes its journal, compared with the meta (shard and base URL as the meta writes them). */
  made: Pick<JournalMeta, 'shard' | 'batch'> & { baseUrl: string | null };
  /**
   * The suite read a second time (a file, not stdin), validated, given the tests the
   * journal has: changed tests are found before any test runs. Null: the input is read once.
   */
  reread: ((done: ReadonlyMap<string, string>) => AsyncIterable<TestRecord[]>) | null;
  /** A line for people (stderr). */
  log: (line: string) => void;
}

export interface JournalSession {
  /** Id → fingerprint of the tests the journal has; an id leaves once `pending` met it. */
  readonly done: ReadonlyMap<string, string>;
  /** Some journaled test got an answer: the target was up in an earlier run. */
  readonly answered: boolean;
  /** Flows run again from their first row (cut in an earlier run), and their `flowRun`: filled as `pending` reads. */
  readonly flowRuns: ReadonlyMap<string, number>;
  /**
   * The records still to run: the journal's are skipped and counted in `live` (resumed).
   * Without a pre-read, the first changed one is refused.
   */
  pending(records: AsyncIterable<TestRecord[]>, live: LiveState): AsyncIterable<TestRecord[]>;
  /** Appends one result as JSON text: the test counts as done once this resolves. */
  append(json: string): Promise<void>;
  /** Closes the journal (a write error surfaces here) and releases the lock. */
  close(): Promise<void>;
}

/**
 * A journal that cannot be read or opened (a folder, a path through a file, no permission)
 * is one line, `cannot open PATH: reason`, exit 3, before any test runs: as a file-system
 * error naming the journal, which the tool runner prints that way.
 */
const cannotOpen =
  (path: string) =>
  (err: unknown): never => {
    if (err instanceof CapiError || !isErrnoException(err)) throw err;
    throw Object.assign(new Error(`cannot open ${path}`), { code: err.code, syscall: 'open', path });
  };

const refuse = (changes: ChangeLog) =>
  new CapiError(
    `cannot resume: ${changes.describe()} (--force resumes anyway; changed tests keep their journaled results)`,
    ExitCode.badInput,
  );

/** Takes the lock (one capi-exec per journal), then reads, checks and opens the journal. */
export async function openJournalSession(input: JournalSessionInput): Promise<JournalSession> {
  const lock = await lockJournal(input.path, input.log).catch(cannotOpen(input.path));
  try {
    const { state, journal } = await resume(input);
    return session(input, state, journal, () => lock.release());
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** The journal's state, with torn and malformed lines reported and malformed ones set aside. */
async function readState(input: JournalSessionInput): Promise<JournalState> {
  const { path, log } = input;
  const state = await loadJournalState(path);
  if (state.tornLine !== null) log(`${path}:${state.tornLine}: ignored a torn last line (a write cut short)`);
  if (state.bad.length === 0) return state;
  for (const err of state.bad.slice(0, 10)) log(`warning: ${err.message}`);
  if (state.bad.length > 10) log(`warning: … and ${state.bad.length - 10} more malformed lines`);
  await setAsideBadLines(path, new Set(state.bad.map((e) => e.line as number)));
  log(`moved ${state.bad.length} malformed journal lines to ${badLinesPath(path)}; the tests they held run again`);
  return state;
}

/** Reads the suite once more: tests changed since the journal was written. */
async function compareSuite(input: JournalSessionInput, done: Map<string, string>): Promise<ChangeLog> {
  const changes = new ChangeLog();
  if (!input.reread) return changes;
  for await (const chunk of input.reread(done))
    for (const rec of chunk) {
      const fp = done.get(rec.id);
      if (fp && fp !== fingerprint(rec)) changes.add(rec.id, describeChange(fp, fingerprint(rec)));
    }
  return changes;
}

/** The resume checks in order (state, meta, suite), then the meta written and the journal opened. */
async function resume(input: JournalSessionInput): Promise<{ state: JournalState; journal: Journal }> {
  const { path, made, force, log } = input;
  const metaFile = journalMetaPath(path);
  const state = await readState(input).catch(cannotOpen(path));
  const meta = await readJournalMeta(path).catch(cannotOpen(metaFile));
  const now = { fingerprint: FINGERPRINT_SCHEME, ...made };
  for (const p of checkMeta(path, meta, now, force, state.done.size)) log(`warning: ${p} (--force)`);
  const changes = await compareSuite(input, state.done);
  if (changes.count > 0 && !force) throw refuse(changes);
  if (changes.count > 0) log(`warning: ${changes.describe()} (--force: not run again)`);
  if (state.done.size > 0) log(`resuming: ${state.done.size} tests in ${path} are done and will not run again`);
  // A journal without results starts afresh: its meta takes this run's base URL.
  const fresh = state.done.size === 0 && meta !== null && (meta.baseUrl ?? null) !== made.baseUrl;
  if (!meta || fresh)
    await writeJournalMeta(path, { version: 1, ...now, created: new Date().toISOString() }, input.fsync).catch(
      cannotOpen(metaFile),
    );
  const journal = await openJournal(path, { fsync: input.fsync }).catch(cannotOpen(path));
  return { state, journal };
}

function session(
  input: JournalSessionInput,
  state: JournalState,
  journal: Journal,
  release: () => void,
): JournalSession {
  const { done, notPassed } = state;
  const rerun = new Map<string, number>();
  /** Whether the journal has the test; a changed one is refused when the suite was not read before. */
  const isDone = (rec: TestRecord): boolean => {
    const fp = done.get(rec.id);
    if (fp === undefined) return false;
    if (fp !== '' && !input.force && !input.reread && fp !== fingerprint(rec)) {
      const changes = new ChangeLog();
      changes.add(rec.id, describeChange(fp, fingerprint(rec)));
      throw refuse(changes);
    }
    return true;
  };
  function skipDone(records: AsyncIterable<TestRecord[]>, live: LiveState): AsyncIterable<TestRecord[]> {
    const settle = (rec: TestRecord) => {
      done.delete(rec.id);
      live.resumed++;
      if (notPassed.has(rec.id)) live.resumedNotPassed++;
    };
    // A flow row that runs again leaves `done` too: its id is in this suite.
    const isDoneRow = (rec: TestRecord) => {
      const d = isDone(rec);
      if (d) done.delete(rec.id);
      return d;
    };
    const single = (rec: TestRecord) => {
      if (!isDone(rec)) return true;
      settle(rec);
      return false;
    };
    return resumeFlows(
      records,
      { isDone: isDoneRow, settle: (rec) => settle(rec), journaled: state.flowRuns, rerun },
      single,
    );
  }
  return {
    done,
    answered: state.answered,
    flowRuns: rerun,
    // With nothing done the records pass as they are: no extra step per record.
    pending: (records, live) => (done.size > 0 ? skipDone(records, live) : records),
    append: (json) => journal.appendLine(json),
    async close() {
      try {
        await journal.close();
      } finally {
        release();
      }
    },
  };
}
