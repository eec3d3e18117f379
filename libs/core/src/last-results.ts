import { eachSmallJournalLine, type ReadJournalOptions, readJournal } from './journal.js';
import type { NdjsonLine } from './ndjson.js';

/** A journal line as the readers of last results see it: a result record's id and status, and what else they pick. */
export interface JournalResult {
  id: string;
  status: string;
  fp?: unknown;
  response?: unknown;
  phase?: unknown;
}

/**
 * Setup and teardown results (flows, docs/formats.md) are not tests: every process writes
 * its own under the same ids in every batch, and a re-login writes more.
 */
export const isPhaseResult = (r: { phase?: unknown } | null | undefined): boolean =>
  r?.phase === 'setup' || r?.phase === 'teardown';

/**
 * Teardown rows that failed, for the verdict (docs/formats.md "Pass rate, verdict and a
 * run's exit code"): the last result of each teardown row in each process's output (a
 * journal, a batch) counts, so a teardown that failed and then passed on resume counts as
 * passed. `where` names that output; results of other phases are ignored.
 */
export interface TeardownTally {
  add(r: { id: string; status: string; phase?: unknown }, where?: string): void;
  /** Teardown rows whose last result is `failed` or `error`. */
  readonly failed: number;
}

export function createTeardownTally(): TeardownTally {
  // One entry per teardown row and output: a few per batch.
  const failing = new Map<string, boolean>();
  let failed = 0;
  return {
    add(r, where = '') {
      if (r.phase !== 'teardown') return;
      const key = `${where}\n${r.id}`;
      const was = failing.get(key) ?? false;
      const is = r.status === 'failed' || r.status === 'error';
      if (was !== is) failed += is ? 1 : -1;
      failing.set(key, is);
    },
    get failed() {
      return failed;
    },
  };
}

export interface LastResultsOptions extends ReadJournalOptions {
  /** A whole line that is not a result record (no string `id` and `status`): skipped, and said here. */
  onNotResult?: (line: number) => void;
  /** A setup or teardown result, skipped as a test, handed here (capi-exec's resume: its answer shows the target was up). */
  onPhaseResult?: (r: JournalResult) => void;
}

/**
 * Each test's last result in one journal: a test run again (a restart, a resume, `--force`,
 * a cut flow re-run whole) has more than one line, and the last one is its result. Setup
 * and teardown results are skipped (`isPhaseResult`): they are not tests. `pick` keeps what the caller
 * needs of each line (it sees every line, in order); memory is one entry per id of this
 * journal, and ids are distinct per journal, so a caller reads a run one journal at a time.
 * A journal that does not exist reads as empty; a torn last line is not a result.
 */
export async function lastResults<T>(
  path: string,
  pick: (r: JournalResult) => T,
  o: LastResultsOptions = {},
): Promise<Map<string, T>> {
  const last = new Map<string, T>();
  const take = ({ value, line }: NdjsonLine) => {
    const r = value as Partial<JournalResult> | null;
    if (typeof r?.id !== 'string' || typeof r.status !== 'string') {
      o.onNotResult?.(line);
      return;
    }
    if (isPhaseResult(r)) {
      o.onPhaseResult?.(r as JournalResult);
      return;
    }
    last.set(r.id, pick(r as JournalResult));
  };
  // a batch's journal is read whole, without an await per line (the supervisor reads every
  // batch's as it ends); a larger one is streamed
  if (eachSmallJournalLine(path, o, take)) return last;
  for await (const l of readJournal(path, o)) take(l);
  return last;
}
