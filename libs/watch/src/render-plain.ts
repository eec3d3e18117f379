import {
  localTime as coreLocalTime,
  formatDuration,
  localClock,
  type RateInForce,
  shellQuote,
  shownRate,
} from '@capi/core';
import type { Snapshot } from './snapshot.js';

/**
 * The monitor block of the original guide, as plain text: no escape codes, so it can go
 * to a log file or through `tail`.
 */

const RULE = '='.repeat(80);
const BAR_WIDTH = 36;

const num = (n: number) => n.toLocaleString('en-US');

/** Local time with its offset (`2026-01-01 11:30:00 +01:00`): core's one rule for times shown to people. */
export function localTime(iso: string | null): string {
  return coreLocalTime(iso);
}

/** ` (paused by the API until 10:31:05)`, or ''; the clock alone, in the zone the Started line shows. */
export function apiPause(s: Snapshot): string {
  return s.apiPausedUntil === null ? '' : ` (paused by the API until ${localClock(s.apiPausedUntil)})`;
}

export function progressBar(percent: number | null, width = BAR_WIDTH): string {
  const filled = Math.round(((percent ?? 0) / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export function formatRate(rate: number): string {
  return rate >= 100 ? rate.toFixed(0) : rate.toFixed(1);
}

/** `200/s`, `no limit`, or core's line saying what control.json holds that was not taken. */
const rateLimitLine = (r: RateInForce) => (r.notTaken.length > 0 ? r.text : shownRate(r.rate));

export function renderPlain(s: Snapshot): string {
  const title = 'CAPI Test Execution Monitor';
  const pad = ' '.repeat(Math.max(0, Math.floor((RULE.length - title.length) / 2)));
  const lines = [
    RULE,
    `${pad}${title}`,
    RULE,
    '',
    `Run: ${s.runId}`,
    `Execution Method: ${s.method ?? '-'}`,
    `Test File: ${s.suite ?? '-'}`,
    `Process ID: ${s.pid ?? '-'}${s.pidAlive === false ? (s.pid === null ? ' (none recorded)' : ' (gone)') : ''}`,
    `Status: ${s.state}${s.stalledS !== null ? ` (no heartbeat for ${formatDuration(s.stalledS)})` : ''}${apiPause(s)}`,
    `Started: ${localTime(s.started)}`,
    `Elapsed: ${s.elapsedS === null ? '-' : formatDuration(s.elapsedS)}`,
    '',
    `Tests Completed: ${num(s.done)} / ${s.total === null ? '?' : num(s.total)}`,
    `Progress: ${progressBar(s.percent)} ${s.percent === null ? '?' : s.percent.toFixed(1)}%`,
    `Passed: ${num(s.passed)}  Failed: ${num(s.failed)}  Errors: ${num(s.errors)}  Skipped: ${num(s.skipped)}`,
    `Success Rate: ${s.passRate === null ? '-' : `${s.passRate.toFixed(1)}%`}`,
    `Rate: ${formatRate(s.rate)} tests/second`,
    ...(s.rateLimit ? [`Rate Limit: ${rateLimitLine(s.rateLimit)}`] : []),
    `ETA: ${s.etaS === null ? '-' : formatDuration(s.etaS)}`,
    '',
    `Last Update: ${localTime(s.lastUpdate)}`,
  ];
  if (s.hosts.length > 0) {
    // capi-launch --hosts: where the results came from, as they come home
    const width = Math.min(40, Math.max(...s.hosts.map((h) => h.host.length)));
    lines.push('', 'Hosts:');
    for (const h of s.hosts)
      lines.push(
        `  ${h.host.padEnd(width)}  ${num(h.done)} done  Passed: ${num(h.passed)}  Failed: ${num(h.failed)}  Errors: ${num(h.errors)}`,
      );
  }
  if (s.verdict !== null) lines.push(`Verdict: ${s.verdict.toUpperCase()}`);
  if (s.resume) lines.push(`Resume: ${s.resume}`);
  if (s.badLines > 0) lines.push(`Warning: ${num(s.badLines)} journal lines are not result records`);
  if (s.logFile) lines.push('', `Log File: ${s.logFile}`, `View logs: tail -f ${shellQuote(s.logFile)}`);
  return `${lines.join('\n')}\n`;
}
