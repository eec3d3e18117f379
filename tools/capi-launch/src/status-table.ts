import { localTime, shownRate } from '@capi/core';
import type { RunSummary } from '@capi/launch';
import { stateText } from './report.js';

/**
 * `capi-launch --status` for people: one aligned row per run under a header, as pueue
 * prints its queue. Numbers are right-aligned; times are local with their offset (core's
 * `localTime`, the one rule every tool shows times by). `--json` has the same fields.
 */

const HEAD = [
  'RUN',
  'STATE',
  'DONE',
  'TOTAL',
  'PASS',
  'FAILED',
  'ERRORS',
  'VERDICT',
  'LIMIT',
  'METHOD',
  'STARTED',
  'SUPERVISOR',
];
/** Columns holding numbers (right-aligned). */
const NUMERIC = new Set([2, 3, 4, 5, 6]);

function row(s: RunSummary): string[] {
  const state = `${stateText(s)}${s.paused ? ' (paused)' : ''}${s.countsFrom === 'report' ? ' (cleaned)' : ''}`;
  return [
    s.id,
    state,
    String(s.done),
    String(s.total),
    s.passRate === null ? '-' : `${s.passRate.toFixed(1)}%`,
    String(s.failed),
    String(s.errors),
    s.verdict ?? '-',
    // `!`: control.json holds a limit the workers do not take, said on stderr
    `${shownRate(s.rateLimit.rate)}${s.rateLimit.notTaken.length > 0 ? ' !' : ''}`,
    s.method,
    localTime(s.created),
    `${s.pid ?? '-'} ${s.alive ? 'alive' : 'not running'}`,
  ];
}

export function statusTable(runs: RunSummary[]): string {
  const rows = [HEAD, ...runs.map(row)];
  const widths = HEAD.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (NUMERIC.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return `${rows.map(line).join('\n')}\n`;
}
