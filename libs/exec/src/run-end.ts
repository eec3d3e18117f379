import { ExitCode, type ExitCodeValue } from '@capi/core';
import type { ExecuteSummary } from './execute.js';
import { formatSummary } from './progress.js';

/** The exit code of a signal stop: SIGINT 130, SIGTERM and SIGHUP 143. */
export const signalExitCode = (sig: NodeJS.Signals): ExitCodeValue =>
  sig === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm;

/**
 * What one run (a command, or one batch of `--serve`) exits with: the same rule for both,
 * so capi-launch judges a batch alike whichever way it ran.
 */
export function runExitCode(s: ExecuteSummary, signal: NodeJS.Signals | null): ExitCodeValue {
  // stopped by a signal, or by control.json's `stop` (a remote worker): 143 without one
  if (s.stoppedBy === 'stop') return signal ? signalExitCode(signal) : ExitCode.sigterm;
  if (s.stoppedBy === 'max-errors' || s.stoppedBy === 'unreachable' || s.setupFailed) return ExitCode.cannotRun;
  return s.failed + s.errors + s.resumedNotPassed + s.teardownFailed > 0 ? ExitCode.testsFailed : ExitCode.ok;
}

/**
 * The lines for people at the end of a run, without the tool's name: why it stopped early
 * (capi-launch quotes the last of them as a batch's reason) and, unless quiet, the counts.
 */
export function endLines(s: ExecuteSummary, quiet: boolean): string[] {
  const lines: string[] = [];
  if (s.setupFailed) lines.push(`setup failed: ${s.setupFailed.replace(/^not sent: /, '')}; no test was sent after it`);
  if (s.stoppedBy === 'max-errors') lines.push(`stopped early: ${s.reason}`);
  if (s.stoppedBy === 'unreachable')
    lines.push(`${s.reason}; nothing was recorded for the ${s.cut} tests tried, a resume runs them`);
  if (!quiet) lines.push(formatSummary(s).replace(/^capi-exec: /, ''));
  return lines;
}
