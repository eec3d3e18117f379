import {
  baseUrlChanged,
  CapiError,
  ExitCode,
  InputError,
  type JournalMeta,
  type JournalResult,
  journalMetaPath,
  lastResults,
} from '@capi/core';

/**
 * Resume by id. The journal's records say which tests are done; each carries `fp`, the
 * fingerprint of the test it ran. A sidecar `<journal>.meta.json` (core journal-meta.ts)
 * says how the journal was made (fingerprint scheme, shard, base URL), so a resume can
 * tell a changed suite or a different shard from a plain restart.
 */
export const FINGERPRINT_SCHEME = 'fnv1a32-request.expect/v1';

export interface JournalState {
  /** id → fingerprint ('' when the record has none) of every test with a final record. */
  done: Map<string, string>;
  /** Ids whose journaled status is failed or error: a resume still ends with exit 1. */
  notPassed: Set<string>;
  /** Some journaled test got an answer (a response): the target was up in an earlier run. */
  answered: boolean;
  tornLine: number | null;
  /** Malformed lines in the middle (errors naming file and line): a resume sets them aside (bad-lines.ts). */
  bad: InputError[];
  /** Flows: the highest `flowRun` journaled for each flow (1 when none said). */
  flowRuns: Map<string, number>;
}

/** What resume reads of a journal line besides core's `JournalResult`. */
interface JournalLine extends JournalResult {
  flow?: unknown;
  flowRun?: unknown;
  error?: { code?: unknown } | null;
}

/** The fingerprint kept for a test whose last result does not make it done. */
const NOT_DONE = '\0not done';

/**
 * Each test's last result (core `lastResults`: a test run again has more than one line),
 * read for a resume. Flows (docs/formats.md): setup and teardown results never make a row
 * done (they run in every process; `lastResults` skips them), and a test whose last
 * result says it was not sent because setup failed runs again.
 */
export async function loadJournalState(path: string): Promise<JournalState> {
  const notPassed = new Set<string>();
  let tornLine: number | null = null;
  let answered = false;
  const bad: InputError[] = [];
  const flowRuns = new Map<string, number>();
  const done = await lastResults(
    path,
    (r) => {
      const v = r as JournalLine;
      if (v.response) answered = true;
      if (typeof v.flow === 'string') {
        const run = typeof v.flowRun === 'number' ? v.flowRun : 1;
        flowRuns.set(v.flow, Math.max(run, flowRuns.get(v.flow) ?? 1));
      }
      if (v.error?.code === 'SETUP_FAILED') {
        notPassed.delete(v.id);
        return NOT_DONE;
      }
      if (v.status === 'failed' || v.status === 'error') notPassed.add(v.id);
      else notPassed.delete(v.id);
      return typeof v.fp === 'string' ? v.fp : '';
    },
    {
      onTornTail: (line) => {
        tornLine = line;
      },
      onBadLine: (err) => bad.push(err),
      onNotResult: (line) => bad.push(new InputError(path, line, 'field "id": a journal line must be a result record')),
      onPhaseResult: (r) => {
        if (r.response) answered = true;
      },
    },
  );
  for (const [id, fp] of done) if (fp === NOT_DONE) done.delete(id);
  return { done, notPassed, answered, tornLine, bad, flowRuns };
}

/** Refuses a resume whose journal was made another way, unless forced. */
export function checkMeta(
  journal: string,
  meta: JournalMeta | null,
  now: Omit<JournalMeta, 'created' | 'version'>,
  force: boolean,
  results = 1,
): string[] {
  if (!meta) return [];
  const problems: string[] = [];
  if (meta.fingerprint !== now.fingerprint)
    problems.push(`the journal's fingerprints are "${meta.fingerprint}", this capi-exec makes "${now.fingerprint}"`);
  if ((meta.shard ?? null) !== now.shard)
    problems.push(
      `the journal was written with --shard ${meta.shard ?? '(none)'}, this run has ${now.shard ?? '(none)'}`,
    );
  if (baseUrlChanged(meta, now.baseUrl ?? null, results))
    problems.push(
      `the journal was written against --base-url ${meta.baseUrl ?? '(none)'}, this run has ${now.baseUrl ?? '(none)'}`,
    );
  if (problems.length && !force)
    throw new CapiError(
      `${journalMetaPath(journal)}: cannot resume: ${problems.join('; ')} (--force resumes anyway)`,
      ExitCode.badInput,
    );
  return problems;
}

/** Changed tests found while comparing a suite to a journal. */
export class ChangeLog {
  readonly examples: string[] = [];
  count = 0;
  add(id: string, what: string): void {
    this.count++;
    if (this.examples.length < 5) this.examples.push(`${id} (${what})`);
  }
  describe(): string {
    const more = this.count > this.examples.length ? ` and ${this.count - this.examples.length} more` : '';
    return `${this.count} finished test${this.count === 1 ? '' : 's'} changed since the journal was written: ${this.examples.join(', ')}${more}`;
  }
}
