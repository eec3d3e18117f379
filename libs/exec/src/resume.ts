import {
  baseUrlChanged,
  CapiError,
  ExitCode,
  InputError,
  type JournalMeta,
  journalMetaPath,
  readJournal,
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

/** A journal line as resume reads it. */
interface JournalLine {
  id?: unknown;
  fp?: unknown;
  status?: unknown;
  response?: unknown;
  phase?: unknown;
  flow?: unknown;
  flowRun?: unknown;
  error?: { code?: unknown } | null;
}

/**
 * Flows (docs/formats.md): setup and teardown rows run in every process, so their results
 * never make them done; a test not sent because setup failed runs again.
 */
function notDoneByFlows(v: JournalLine): boolean {
  return v.phase === 'setup' || v.phase === 'teardown' || v.error?.code === 'SETUP_FAILED';
}

export async function loadJournalState(path: string): Promise<JournalState> {
  const done = new Map<string, string>();
  const notPassed = new Set<string>();
  let tornLine: number | null = null;
  let answered = false;
  const bad: InputError[] = [];
  const flowRuns = new Map<string, number>();
  const lines = readJournal(path, {
    onTornTail: (line) => {
      tornLine = line;
    },
    onBadLine: (err) => bad.push(err),
  });
  for await (const { value, line } of lines) {
    const v = value as JournalLine | null;
    if (!v || typeof v.id !== 'string' || typeof v.status !== 'string') {
      bad.push(new InputError(path, line, 'field "id": a journal line must be a result record'));
      continue;
    }
    if (v.response) answered = true;
    if (typeof v.flow === 'string') {
      const run = typeof v.flowRun === 'number' ? v.flowRun : 1;
      flowRuns.set(v.flow, Math.max(run, flowRuns.get(v.flow) ?? 1));
    }
    if (notDoneByFlows(v)) {
      done.delete(v.id);
      notPassed.delete(v.id);
      continue;
    }
    done.set(v.id, typeof v.fp === 'string' ? v.fp : '');
    if (v.status === 'failed' || v.status === 'error') notPassed.add(v.id);
    else notPassed.delete(v.id);
  }
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
