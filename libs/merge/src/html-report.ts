import { randomBytes } from 'node:crypto';
import { formatPassRate } from '@capi/core';
import { plainLine } from './clean-text.js';
import { charts } from './html-charts.js';
import { HTML_SCRIPT } from './html-script.js';
import { errorText, failureText, type MergedTest } from './merged-test.js';
import type { Sink } from './sink.js';
import type { Summary } from './summary.js';
import { STATUS_CODE, type TestTable } from './test-table.js';
import { flowLines, fmtMs } from './text-report.js';

/** The table holds at most this many rows (failures first), so the page stays usable. */
export const HTML_MAX_ROWS = 5000;

export function escapeHtml(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export type Row = [string, string, string, number | string, number | string, string, string, string];

export function row(t: MergedTest): Row {
  const why =
    t.status === 'error' ? errorText(t) : t.status === 'passed' || t.status === 'skipped' ? '' : failureText(t);
  return [
    plainLine(t.id),
    plainLine(t.name),
    t.status,
    t.status === 'missing' ? '' : Number(t.durationMs.toFixed(1)),
    t.httpStatus ?? '',
    plainLine(why),
    plainLine(t.batch ?? ''),
    plainLine(t.tags.join(';')),
  ];
}

/**
 * A passed or skipped row (no failure or error to show): row(view(i))'s cells from the
 * columns, the id and name and the HTTP status as the row's text holds them (no JSON.parse
 * of the whole record: most of the table's rows are these). view when the text is not plain.
 */
export function fineRow(table: TestTable, i: number): Row {
  const http = table.httpStatusOf(i);
  if (http === undefined) return row(table.view(i));
  const { id, name } = table.idAndName(i);
  const batch = table.batchPool.values[table.batch[i] as number] ?? null;
  const tags = table.tagPool.values[table.tags[i] as number] as string[];
  return [
    plainLine(id),
    plainLine(name),
    table.statusOf(i),
    Number((table.duration[i] as number).toFixed(1)),
    http ?? '',
    plainLine(''),
    plainLine(batch ?? ''),
    plainLine(tags.join(';')),
  ];
}

/** Failures, errors and missing tests first, then the rest, up to the cap. */
function pickRows(table: TestTable): Row[] {
  const rows: Row[] = [];
  const fine = (i: number) => table.status[i] === STATUS_CODE.passed || table.status[i] === STATUS_CODE.skipped;
  for (let i = 0; i < table.size && rows.length < HTML_MAX_ROWS; i++) if (!fine(i)) rows.push(row(table.view(i)));
  for (let i = 0; i < table.size && rows.length < HTML_MAX_ROWS; i++) if (fine(i)) rows.push(fineRow(table, i));
  return rows;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em}
section{margin:1.5em 0}.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em}
.card b{display:block;font-size:1.4em}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:3px 6px;text-align:left;vertical-align:top}
.num{text-align:right}.chart{width:100%;max-width:720px;height:auto;font-size:10px}.st-failed td:nth-child(3){color:#c62828}
.st-error td:nth-child(3){color:#ef6c00}.st-missing td:nth-child(3){color:#6a1b9a}.verdict-failed{color:#c62828}.verdict-passed{color:#2e7d32}
input[type=search]{width:20em;padding:4px}th{cursor:default}.sortable th{cursor:pointer}th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}`;

/** Flows and setup/teardown, as the text report says them (plain lines); nothing when the suite has neither. */
function flowSection(s: Summary): string {
  const lines = flowLines(s).filter((l) => l !== '');
  if (lines.length === 0) return '';
  return `<section id="flows"><h2>Flows, setup and teardown</h2><pre>${escapeHtml(lines.join('\n'))}</pre></section>\n`;
}

function cards(s: Summary): string {
  const c = s.counts;
  const items: Array<[string, string]> = [
    ['tests', String(c.total)],
    ['passed', String(c.passed)],
    ['failed', String(c.failed)],
    ['errors', String(c.errors)],
    ['skipped', String(c.skipped)],
    ['missing', String(c.missing)],
    ['flaky', String(c.flaky)],
    ['pass rate', formatPassRate(s.passRate)],
    ['wall time', fmtMs(s.wallMs)],
    ['throughput', `${s.throughput.toFixed(2)}/s`],
    ['p50', fmtMs(s.latency.p50)],
    ['p95', fmtMs(s.latency.p95)],
    ['p99', fmtMs(s.latency.p99)],
  ];
  return items.map(([k, v]) => `<div class="card">${escapeHtml(k)}<b>${escapeHtml(v)}</b></div>`).join('');
}

const COLUMNS = ['id', 'name', 'status', 'ms', 'http', 'failure / error', 'batch', 'tags'];
/** Columns holding numbers: right-aligned, sorted as numbers. */
const NUMERIC = new Set([3, 4]);

/** A cell's text is cut here, so 5,000 rows stay a page of a few MB whatever a suite's names hold. */
const CELL_CHARS = 300;
const cutCell = (text: string) => (text.length > CELL_CHARS ? `${text.slice(0, CELL_CHARS - 1)}…` : text);

function rowHtml(r: Row): string {
  const cells = r.map((c, i) => `<td${NUMERIC.has(i) ? ' class="num"' : ''}>${escapeHtml(cutCell(String(c)))}</td>`);
  return `<tr class="st-${r[2]}">${cells.join('')}</tr>`;
}

function groupRows(summary: Summary): string {
  return summary.failureGroups
    .slice(0, 100)
    .map(
      (g) =>
        `<tr><td class="num">${g.count}</td><td>${escapeHtml(plainLine(g.reason))}</td><td>${escapeHtml(plainLine(g.example))}</td><td>${escapeHtml(plainLine(g.examples.join(', ')))}</td></tr>`,
    )
    .join('\n');
}

const STATUS_OPTIONS = ['', 'failed', 'error', 'missing', 'passed', 'skipped']
  .map((v) => `<option value="${v}">${v === '' ? 'every status' : v}</option>`)
  .join('');

/**
 * One self-contained page: inline CSS, inline SVG, the tables as HTML, no network. All
 * of it shows with scripts blocked (a CSP, Jenkins' HTML publisher); the inline script
 * (allowed by nonce) only adds search, a status filter and sorting.
 */
export async function writeHtmlReport(
  sink: Sink,
  table: TestTable,
  summary: Summary,
  title: string,
  verdict: string,
): Promise<void> {
  const nonce = randomBytes(16).toString('base64');
  title = plainLine(title);
  const rows = pickRows(table);
  const chart = charts(summary, escapeHtml);
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; img-src data:`;
  await sink.write(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>capi report: ${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body data-rendered="false">
<h1>capi report: ${escapeHtml(title)} <span class="verdict-${escapeHtml(verdict)}">${escapeHtml(verdict.toUpperCase())}</span></h1>
<section class="cards">${cards(summary)}</section>
${flowSection(summary)}<section><h2>Pass / fail</h2><div id="chart-status">${chart.status}</div></section>
<section><h2>Latency histogram</h2><div id="chart-latency">${chart.latency}</div></section>
<section><h2>Throughput over time</h2><div id="chart-throughput">${chart.throughput}</div></section>
<section><h2>Failures by reason</h2><table><thead><tr><th class="num">count</th><th>reason</th><th>example</th><th>examples</th></tr></thead><tbody id="failure-groups">
${groupRows(summary)}
</tbody></table></section>
<section><h2>Tests</h2>
<p class="tools" hidden><input id="filter" type="search" placeholder="search: id, name, status, reason, tag" aria-label="search tests">
<select id="status-filter" aria-label="status">${STATUS_OPTIONS}</select>
<span id="shown">${rows.length}</span> shown; click a column title to sort</p>
<p>${rows.length} tests${summary.counts.total > rows.length ? ` (the first ${rows.length} of ${summary.counts.total}, failures first; the JSON and CSV reports hold every test)` : ''}</p>
<table id="tests"><thead><tr>${COLUMNS.map((c, i) => `<th${NUMERIC.has(i) ? ' class="num"' : ''}>${c}</th>`).join('')}</tr></thead><tbody>
`);
  // Rows in chunks: a 5,000-row table is not one string of megabytes.
  for (let i = 0; i < rows.length; i += 500)
    await sink.write(
      `${rows
        .slice(i, i + 500)
        .map(rowHtml)
        .join('\n')}\n`,
    );
  await sink.write(`</tbody></table>
</section>
<script nonce="${nonce}">${HTML_SCRIPT}</script>
</body></html>
`);
}
