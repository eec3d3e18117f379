import { formatDuration } from '@capi/core';
import blessed from 'blessed';
import contrib from 'blessed-contrib';
import type { Presenter } from './presenters.js';
import { formatRate, localTime } from './render-plain.js';
import type { FailureFilter, Snapshot } from './snapshot.js';
import { stopRun } from './stop-run.js';

/** The TTY dashboard: one blessed-contrib screen, redrawn from each snapshot. */

export interface DashboardOptions {
  color: boolean;
}

const FILTERS: FailureFilter[] = ['all', 'failed', 'errors'];
const HELP = [
  'q      quit the dashboard (the run goes on)',
  's      stop the run (asks first: y to confirm)',
  'f      failures shown: all / failed / errors',
  '?      this help (any key closes it)',
].join('\n');

const num = (n: number) => n.toLocaleString('en-US');

interface Widgets {
  screen: blessed.Widgets.Screen;
  header: blessed.Widgets.BoxElement;
  gauge: { setPercent(p: number): void; setLabel(l: string): void };
  breakdown: blessed.Widgets.BoxElement;
  chart: { setData(d: unknown): void; options: { maxY?: number } };
  table: { setData(d: { headers: string[]; data: string[][] }): void; setLabel(l: string): void };
  failures: blessed.Widgets.BoxElement;
  logs: blessed.Widgets.BoxElement;
  prompt: blessed.Widgets.BoxElement;
}

function layout(color: boolean): Widgets {
  const screen = blessed.screen({ smartCSR: true, title: 'capi-watch', warnings: false, fullUnicode: false });
  const grid = new contrib.grid({ rows: 24, cols: 12, screen });
  const fg = color ? 'cyan' : undefined;
  const border = { type: 'line', fg } as const;
  // biome-ignore lint/suspicious/noExplicitAny: blessed-contrib's grid.set takes any widget factory.
  const set = (r: number, c: number, rs: number, cs: number, w: any, o: object) => grid.set(r, c, rs, cs, w, o) as any;
  return {
    screen,
    header: set(0, 0, 3, 12, blessed.box, { label: ' capi-watch ', tags: true, border }),
    gauge: set(3, 0, 3, 8, contrib.gauge, {
      label: 'Progress',
      stroke: color ? 'green' : 'white',
      fill: 'black',
      border,
    }),
    breakdown: set(3, 8, 7, 4, blessed.box, { label: ' Status ', tags: true, border }),
    chart: set(6, 0, 4, 8, contrib.line, {
      label: ' tests/s ',
      style: { line: color ? 'yellow' : 'white', text: 'white', baseline: 'white' },
      showLegend: false,
      wholeNumbersOnly: false,
      border,
    }),
    table: set(10, 0, 7, 12, contrib.table, {
      label: ' Batches ',
      keys: false,
      interactive: false,
      columnSpacing: 2,
      columnWidth: [14, 8, 10, 15, 7, 8, 24],
      border,
    }),
    failures: set(17, 0, 7, 7, blessed.box, { label: ' Latest failures ', tags: false, wrap: false, border }),
    logs: set(17, 7, 7, 5, blessed.box, { label: ' Log ', tags: false, wrap: false, border }),
    prompt: blessed.box({
      parent: screen,
      bottom: 0,
      left: 'center',
      width: '80%',
      height: 'shrink',
      hidden: true,
      border: 'line',
      tags: false,
      content: '',
    }),
  };
}

export function dashboardPresenter(opts: DashboardOptions): Presenter {
  const w = layout(opts.color);
  let last: Snapshot | null = null;
  let filter = 0;
  let confirming = false;
  let lastDraw = 0;
  let drawnFilter = 0;
  let message = '';
  let quitResolve: () => void = () => {};
  const quit = new Promise<void>((r) => {
    quitResolve = r;
  });
  const red = (t: string) => (opts.color ? `{red-fg}{bold}${t}{/bold}{/red-fg}` : t);

  const popup = (text: string) => {
    w.prompt.setContent(text);
    w.prompt.show();
    w.screen.render();
  };
  w.screen.on('keypress', (ch: string | undefined, key: { name?: string; full?: string }) => {
    if (confirming) {
      confirming = false;
      w.prompt.hide();
      message = ch === 'y' && last ? stopRun(last) : 'stop cancelled';
      if (last) draw(last);
      return;
    }
    if (!w.prompt.hidden) {
      w.prompt.hide();
      if (last) draw(last);
      if (ch === '?') return;
    }
    if (ch === 'q' || key.full === 'C-c') quitResolve();
    else if (ch === 's') {
      confirming = true;
      popup(
        `Stop run ${last?.runId ?? ''}? In-flight tests finish, the run can be resumed. y = stop, any other key = cancel`,
      );
    } else if (ch === 'f') {
      filter = (filter + 1) % FILTERS.length;
      message = `failures: ${FILTERS[filter]}`;
    } else if (ch === '?') popup(HELP);
  });
  w.screen.on('resize', () => {
    if (last) draw(last);
  });

  function draw(s: Snapshot): void {
    drawHeader(w, s, red, message);
    const pct = s.percent ?? 0;
    // blessed-contrib reads a percent at or under 1.001 as a fraction; scale it back.
    w.gauge.setPercent(pct > 0 && pct <= 1.001 ? pct / 100 : pct);
    w.gauge.setLabel(
      ` ${num(s.done)} / ${s.total === null ? '?' : num(s.total)} (${s.percent === null ? '?' : s.percent.toFixed(1)}%)  success ${s.successRate === null ? '-' : `${s.successRate.toFixed(1)}%`} `,
    );
    w.breakdown.setContent(breakdownText(s));
    drawChart(w, s);
    w.table.setLabel(
      ` Batches (${Object.entries(s.batchStates)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}) `,
    );
    w.table.setData({
      headers: ['batch', 'pid', 'state', 'done/total', 'pass%', 'rate', 'current'],
      data: s.batches.map(batchRow),
    });
    w.failures.setLabel(` Latest failures: ${FILTERS[filter]} (${num(s.failureCount)} in all; f cycles) `);
    const height = Math.max(1, Number(w.failures.height) - 2);
    w.failures.setContent(s.failures.slice(-height).map(failureLine).join('\n'));
    const logHeight = Math.max(1, Number(w.logs.height) - 2);
    w.logs.setContent(s.logTail.slice(-logHeight).join('\n'));
    w.screen.render();
  }

  return {
    quit,
    get failureFilter() {
      return FILTERS[filter] as FailureFilter;
    },
    show(s, changed, final) {
      last = s;
      // Nothing new: redraw once a second for the clock, not on every tick.
      const now = Date.now();
      if (!changed && !final && now - lastDraw < 1000 && drawnFilter === filter) return;
      lastDraw = now;
      drawnFilter = filter;
      draw(s);
    },
    note(text) {
      message = text;
      if (last) draw(last);
    },
    close() {
      w.screen.destroy();
    },
  };
}

function drawHeader(w: Widgets, s: Snapshot, red: (t: string) => string, message: string): void {
  const trouble = s.state === 'STALLED' || s.state === 'DEAD' || s.state === 'FAILED';
  const state = trouble ? red(s.state) : s.state;
  const stalled = s.stalledS === null ? '' : ` (no heartbeat for ${formatDuration(s.stalledS)})`;
  const resume = s.resume ? `   resume: ${s.resume}` : '';
  const lines = [
    `Run ${s.runId}   method ${s.method ?? '-'}   suite ${s.suite ?? '-'}   keys: q s f ?`,
    `State ${state}${stalled}${s.verdict === null ? '' : `   verdict ${s.verdict.toUpperCase()}`}${s.state === 'STOPPED' ? resume : red(resume)}`,
    `Started ${localTime(s.started)}   elapsed ${s.elapsedS === null ? '-' : formatDuration(s.elapsedS)}   ETA ${s.etaS === null ? '-' : formatDuration(s.etaS)}   rate ${formatRate(s.rate)} tests/s   pid ${s.pid ?? '-'}${s.pidAlive === false ? ' (gone)' : ''}`,
    message,
  ];
  w.header.setContent(lines.join('\n'));
}

function breakdownText(s: Snapshot): string {
  // Without a result yet a test is remaining (the run can go on); a completed run's are missing.
  const rows: Array<[string, string]> = [
    ['passed', num(s.passed)],
    ['failed', num(s.failed)],
    ['error', num(s.errors)],
    ['skipped', num(s.skipped)],
    [s.state === 'COMPLETED' ? 'missing' : 'remaining', s.remaining === null ? '?' : num(s.remaining)],
    ['', ''],
    ['success', s.successRate === null ? '-' : `${s.successRate.toFixed(1)}%`],
  ];
  return rows.map(([label, value]) => (label ? `${label.padEnd(10)}${value}` : '')).join('\n');
}

function drawChart(w: Widgets, s: Snapshot): void {
  const y = s.rateSeries.length >= 2 ? s.rateSeries : [0, ...s.rateSeries, 0].slice(0, 2);
  const x = y.map((_, i) => `${i - y.length + 1}s`);
  // An all-zero series would divide by zero inside the chart.
  w.chart.options.maxY = Math.max(1, ...y) * 1.2;
  w.chart.setData([{ title: 'tests/s', x, y }]);
}

function batchRow(b: Snapshot['batches'][number]): string[] {
  return [
    b.batch,
    b.pid === null ? '-' : String(b.pid),
    b.state,
    `${num(b.done)}/${b.total === null ? '?' : num(b.total)}`,
    b.passRate === null ? '-' : b.passRate.toFixed(1),
    b.rate === null ? '-' : formatRate(b.rate),
    b.current ?? '',
  ];
}

function failureLine(f: Snapshot['failures'][number]): string {
  return `#${f.n} ${f.id} ${f.name === f.id ? '' : `${f.name} `}[${f.status}] ${f.detail}`;
}
