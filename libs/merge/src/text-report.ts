import { formatPassRate, localTime, passRate } from '@capi/core';
import { plainLine } from './clean-text.js';
import type { GroupRow, Summary } from './summary.js';
import { decidedBy, type ThresholdResult } from './thresholds.js';

/** The plain-text summary (`test_summary_report_TIMESTAMP.txt`): no colour, fixed-width tables. */

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(2)} h`;
}

/** Columns before `textCols` are text (left-aligned); the rest are numbers (right-aligned). */
function table(head: string[], rows: string[][], textCols = 1): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < textCols ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function groupTable(rows: GroupRow[], title: string, limit = 50): string[] {
  if (rows.length === 0) return [];
  const shown = rows.slice(0, limit).map((r) => {
    return [
      plainLine(r.key),
      String(r.counts.total),
      String(r.counts.passed),
      String(r.counts.failed),
      String(r.counts.errors),
      String(r.counts.skipped),
      String(r.counts.missing),
      formatPassRate(passRate(r.counts)),
      fmtMs(r.summedMs),
    ];
  });
  const out = [
    '',
    title,
    ...table(['name', 'total', 'passed', 'failed', 'errors', 'skipped', 'missing', 'pass rate', 'time'], shown),
  ];
  if (rows.length > limit) out.push(`… and ${rows.length - limit} more (see the JSON report)`);
  return out;
}

function list(title: string, ids: string[], total: number): string[] {
  if (total === 0) return [];
  const out = ['', `${title} (${total})`];
  for (const id of ids.slice(0, 100)) out.push(`  ${plainLine(id)}`);
  if (total > 100) out.push(`  … and ${total - 100} more (see the JSON report)`);
  return out;
}

/** A rule's measured value; `-` when there was nothing to measure. */
export const actualText = (v: number | null) => (v === null ? '-' : String(Number(v.toFixed(3))));

/** Flows and the setup/teardown rows, apart from the test counts; nothing when the suite has neither. */
export function flowLines(s: Summary): string[] {
  const out: string[] = [];
  const f = s.flows;
  if (f)
    out.push(
      '',
      `flows:     ${f.total}  (complete ${f.complete}, of them all passed ${f.passed}; stopped at a row ${f.stopped}; incomplete ${f.incomplete}; re-run on resume ${f.rerun})`,
    );
  const { setup, teardown, problems } = s.phases;
  if (setup.runs + teardown.runs === 0) return out;
  out.push('', 'setup and teardown (not tests: every process runs them; a re-login runs setup again)');
  for (const [name, c] of [
    ['setup', setup],
    ['teardown', teardown],
  ] as const)
    if (c.runs > 0)
      out.push(
        `  ${name.padEnd(9)} ${c.runs} ${c.runs === 1 ? 'run' : 'runs'}: ${c.passed} passed, ${c.failed} failed, ${c.errors} errors, ${c.skipped} skipped`,
      );
  for (const p of problems)
    out.push(
      `  ${p.phase} ${plainLine(p.id)} ${p.status}${p.batch ? ` in ${plainLine(p.batch)}` : ''}: ${plainLine(p.reason)}`,
    );
  return out;
}

export function textReport(s: Summary, thresholds: ThresholdResult[], verdict: string, title: string): string {
  const c = s.counts;
  const out = [
    `capi test summary: ${plainLine(title)}`,
    `verdict: ${verdict.toUpperCase()}`,
    '',
    `tests:     ${c.total}  (from ${s.recordsRead} result records, ${s.superseded} superseded by a later record)`,
    `passed:    ${c.passed}`,
    `failed:    ${c.failed}`,
    `errors:    ${c.errors}`,
    `skipped:   ${c.skipped}`,
    `missing:   ${c.missing}`,
    `flaky:     ${c.flaky}`,
    `pass rate: ${formatPassRate(s.passRate)}  (passed / (passed + failed + errors + missing))`,
    ...flowLines(s),
    '',
    `started:    ${localTime(s.startedAt)}`,
    `finished:   ${localTime(s.finishedAt)}`,
    `wall time:  ${fmtMs(s.wallMs)}`,
    `summed:     ${fmtMs(s.summedMs)}`,
    `throughput: ${s.throughput.toFixed(2)} tests/s`,
    '',
    s.notSent > 0
      ? `latency (${s.notSent} ${s.notSent === 1 ? 'test' : 'tests'} that never sent a request left out)`
      : 'latency',
    ...table(
      ['p50', 'p90', 'p95', 'p99', 'max', 'mean'],
      [[s.latency.p50, s.latency.p90, s.latency.p95, s.latency.p99, s.latency.max, s.latency.mean].map(fmtMs)],
      0,
    ),
  ];
  if (thresholds.length > 0) {
    out.push('', `rules (the default rule and --fail-if): ${decidedBy(thresholds)}`);
    for (const t of thresholds)
      out.push(
        `  ${t.crossed ? 'CROSSED' : 'held   '}  ${t.expr.padEnd(16)}  ${t.from === 'default' ? 'default rule' : '--fail-if   '}  (actual ${actualText(t.actual)})`,
      );
  }
  if (s.slowest.length > 0) {
    out.push('', `slowest ${s.slowest.length}`);
    out.push(
      ...table(
        ['id', 'name', 'status', 'time'],
        s.slowest.map((t) => [plainLine(t.id), plainLine(t.name), t.status, fmtMs(t.durationMs)]),
        3,
      ),
    );
  }
  if (s.failureGroups.length > 0) {
    out.push('', 'failures by reason');
    for (const g of s.failureGroups)
      out.push(
        `  ${String(g.count).padStart(6)}  ${plainLine(g.reason)}`,
        `          e.g. ${plainLine(g.examples.join(', '))}`,
        `          ${plainLine(g.example)}`,
      );
  }
  out.push(...groupTable(s.tags, 'per tag'), ...groupTable(s.batches, 'per batch'));
  out.push(...list('flaky', s.flaky, c.flaky), ...list('missing', s.missing, c.missing));
  return `${out.join('\n')}\n`;
}
