import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { CapiError, ExitCode, FILE_MODE, runPaths } from '@capi/core';

/**
 * capi's own record of the `--hosts` attempts (`attempts.ndjson`, docs/run-folder.md):
 * one line per batch per attempt, appended when the attempt ends. GNU parallel's joblog
 * says little (`--retries` hides a failed try, positional `--resume` re-runs the wrong
 * jobs once the argument list changes), so capi never uses either: the next attempt, and
 * `--resume`, take each batch by name, its tests by id from its journal, and count a
 * batch's failed tries here. `sha256` is that of the batch file when it was sent: a
 * batch file changed since (the frozen split edited) is refused on resume.
 */
export interface AttemptRecord {
  attempt: number;
  batch: string;
  /** The host GNU parallel ran it on (its `--sshlogin` entry), or null: never started. */
  host: string | null;
  started: string | null;
  ended: string;
  /** The remote command's exit (capi-exec's code; 255: ssh failed), or null: never started. */
  exit: number | null;
  /** Results in the local journal after the attempt, and tests in the batch. */
  results: number;
  tests: number;
  /** done; retry (counts against --max-restarts); host-down (does not); failed (given up); stopped; not-started. */
  outcome: 'done' | 'retry' | 'host-down' | 'failed' | 'stopped' | 'not-started';
  sha256: string;
}

export function appendAttempt(runDir: string, r: AttemptRecord): void {
  appendFileSync(runPaths(runDir).attempts, `${JSON.stringify(r)}\n`, { mode: FILE_MODE });
}

/** The record so far; a torn last line (a supervisor killed mid-write) is skipped. */
export function readAttempts(runDir: string): AttemptRecord[] {
  let text: string;
  try {
    text = readFileSync(runPaths(runDir).attempts, 'utf8');
  } catch {
    return [];
  }
  const out: AttemptRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as AttemptRecord);
    } catch {}
  }
  return out;
}

export function batchSha256(runDir: string, batch: string): string {
  return createHash('sha256')
    .update(readFileSync(runPaths(runDir).batchFile(batch)))
    .digest('hex');
}

/** Refuses batch files that differ from what earlier attempts sent (exit 2, naming the first). */
export function checkFrozen(runDir: string, records: readonly AttemptRecord[]): void {
  const first = new Map<string, string>();
  for (const r of records) if (!first.has(r.batch)) first.set(r.batch, r.sha256);
  for (const [batch, sha] of first)
    if (batchSha256(runDir, batch) !== sha)
      throw new CapiError(
        `${runPaths(runDir).batchFile(batch)} changed since attempt 1 sent it (sha256 differs): a run's batches are frozen; launch a new run`,
        ExitCode.badInput,
      );
}

/** Failed tries per batch that count against `--max-restarts`. */
export function retriesOf(records: readonly AttemptRecord[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const r of records) if (r.outcome === 'retry') n.set(r.batch, (n.get(r.batch) ?? 0) + 1);
  return n;
}
