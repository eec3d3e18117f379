import { formatDuration } from '@capi/core';
import type { ExecuteSummary } from './execute.js';
import type { LiveState } from './live-state.js';

/** The one-line live progress (stderr on a TTY): done/total, pass/fail/error, tests/s, ETA. */
export function formatProgress(live: LiveState): string {
  const done = live.done + live.resumed;
  const of = live.total !== null ? `/${live.total}` : '';
  const pct = live.total ? ` ${((done / live.total) * 100).toFixed(1)}%` : '';
  const left = live.total !== null ? live.total - done : null;
  const rate = live.rateNow();
  const eta = left !== null && rate > 0 ? ` eta ${formatDuration(left / rate)}` : '';
  const paused = live.paused ? ' [paused]' : '';
  return `capi-exec: ${done}${of}${pct}  pass ${live.passed} fail ${live.failed} error ${live.errors}  ${rate.toFixed(1)} tests/s${eta}${paused}`;
}

/** The end-of-run line: counts and time. */
export function formatSummary(s: ExecuteSummary): string {
  const ran = s.passed + s.failed + s.errors;
  const secs = s.durationMs / 1000;
  const parts = [`${ran} ran`, `${s.passed} passed`, `${s.failed} failed`, `${s.errors} errors`];
  if (s.skipped) parts.push(`${s.skipped} skipped`);
  if (s.resumed) parts.push(`${s.resumed} already done (${s.resumedNotPassed} of them failed or errored)`);
  if (s.cut) parts.push(`${s.cut} cut (not recorded)`);
  if (s.relogins) parts.push(`${s.relogins} re-login${s.relogins === 1 ? '' : 's'}`);
  if (s.teardownFailed) parts.push(`${s.teardownFailed} teardown row${s.teardownFailed === 1 ? '' : 's'} failed`);
  const rate = secs > 0 ? `, ${(ran / secs).toFixed(1)} tests/s` : '';
  return `capi-exec: ${parts.join(', ')} in ${formatDuration(secs)}${rate}`;
}
