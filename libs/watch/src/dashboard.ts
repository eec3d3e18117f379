import { localZone } from '@capi/core';
import blessed from 'blessed';
import contrib from 'blessed-contrib';
import {
  batchLines,
  boxLines,
  fitLabel,
  headerSegments,
  logEntry,
  planLayout,
  type Rect,
  type Segment,
  wrapSegments,
} from './dashboard-layout.js';
import type { Presenter } from './presenters.js';
import type { Snapshot } from './snapshot.js';
import type { FailureFilter } from './snapshot-rows.js';
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

interface LineChart extends blessed.Widgets.BoxElement {
  setData(d: unknown): void;
  options: { maxY?: number };
}

interface Widgets {
  screen: blessed.Widgets.Screen;
  color: boolean;
  header: blessed.Widgets.BoxElement;
  status: blessed.Widgets.BoxElement;
  batches: blessed.Widgets.BoxElement;
  failures: blessed.Widgets.BoxElement;
  logs: blessed.Widgets.BoxElement;
  prompt: blessed.Widgets.BoxElement;
  /** Made again when its size changes: blessed-contrib sizes its canvas once, on attach. */
  chart: LineChart | null;
  chartRect: Rect | null;
}

/** blessed keeps a cell's colours in bits 0-17 of its attribute; all ones is the default. */
const DEFAULT_COLORS = 0x3ffff;

/**
 * No colour at all: blessed has no such option and blessed-contrib colours its chart and
 * table itself, so every cell is drawn with the terminal's default colours (bold, inverse
 * and underline stay).
 */
function dropColors(screen: blessed.Widgets.Screen): void {
  const raw = screen as unknown as {
    lines: Array<Array<[number, string]> & { dirty?: boolean }>;
    draw(a: number, b: number): void;
  };
  const draw = raw.draw.bind(screen);
  raw.draw = (start, end) => {
    for (let y = start; y <= end; y++) {
      const line = raw.lines[y];
      if (line?.dirty) for (const cell of line) cell[0] |= DEFAULT_COLORS;
    }
    draw(start, end);
  };
}

function createWidgets(wanted: boolean): Widgets {
  const screen = blessed.screen({ smartCSR: true, title: 'capi-watch', warnings: false, fullUnicode: false });
  // NO_COLOR (the caller's `wanted`), or a terminal without 8 colours (xterm-mono, vt100).
  const color = wanted && (screen.tput as unknown as { colors: number }).colors >= 8;
  if (!color) dropColors(screen);
  const border = { type: 'line', fg: color ? 'cyan' : undefined } as const;
  // Placed (and shown) by each draw, from planLayout.
  const box = (label: string, tags: boolean) =>
    blessed.box({ parent: screen, label, tags, wrap: false, border, hidden: true } as blessed.Widgets.BoxOptions);
  return {
    screen,
    color,
    header: box(' capi-watch ', true),
    status: box(' Status ', false),
    batches: box(' Batches ', false),
    failures: box(' Latest failures ', false),
    logs: box(' Log ', false),
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
    chart: null,
    chartRect: null,
  };
}

function place(el: blessed.Widgets.BoxElement, r: Rect | null): number {
  if (!r) {
    el.hide();
    return 0;
  }
  el.top = r.top;
  el.left = r.left;
  el.width = r.width;
  el.height = r.height;
  el.show();
  return Math.max(0, r.width - 2);
}

const sameRect = (a: Rect | null, b: Rect | null) =>
  a === b || (!!a && !!b && a.top === b.top && a.left === b.left && a.width === b.width && a.height === b.height);

function placeChart(w: Widgets, r: Rect | null): void {
  if (sameRect(r, w.chartRect)) return;
  w.chart?.destroy();
  w.chart = null;
  w.chartRect = r;
  if (!r) return;
  // biome-ignore lint/suspicious/noExplicitAny: blessed-contrib's typings miss the line chart's options.
  w.chart = (contrib.line as any)({
    ...r,
    label: ' tests/s ',
    style: { line: w.color ? 'yellow' : 'white', text: 'white', baseline: 'white' },
    showLegend: false,
    wholeNumbersOnly: false,
    border: { type: 'line', fg: w.color ? 'cyan' : undefined },
  }) as LineChart;
  w.screen.append(w.chart);
  w.prompt.setFront();
}

const escapeTags = (t: string) => t.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));

function headerText(lines: Segment[][], color: boolean): string {
  const paint = (seg: Segment) => {
    const text = escapeTags(seg.text);
    if (!seg.paint) return text;
    // Without colour, trouble stays bold (an attribute, not a colour).
    if (!color) return seg.paint === 'red' ? `{bold}${text}{/bold}` : text;
    return seg.paint === 'red' ? `{red-fg}{bold}${text}{/bold}{/red-fg}` : `{green-fg}${text}{/green-fg}`;
  };
  return lines.map((line) => line.map(paint).join('')).join('\n');
}

/**
 * Long as a whole, short in its parts: the key handler, `popup` and `draw` are closures
 * over one screen's widgets (`createWidgets`) and the last snapshot drawn.
 */
export function dashboardPresenter(opts: DashboardOptions): Presenter {
  const w = createWidgets(opts.color);
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
    const width = Number(w.screen.width);
    const height = Number(w.screen.height);
    const lines = wrapSegments(headerSegments(s, message, width - 2), width - 2);
    const l = planLayout(width, height, lines.length, s.batches.length);
    place(w.header, l.header);
    w.header.setContent(headerText(lines, w.color));
    place(w.status, l.status);
    w.status.setContent(breakdownText(s));
    placeChart(w, l.chart);
    if (w.chart) drawChart(w.chart, s);
    const batchWidth = place(w.batches, l.batches);
    const states = Object.entries(s.batchStates).map(([k, v]) => `${k} ${v}`);
    w.batches.setLabel(fitLabel(` Batches (${states.join(', ')}) `, batchWidth + 2));
    w.batches.setContent(batchLines(s, batchWidth).join('\n'));
    const failWidth = place(w.failures, l.failures);
    w.failures.setLabel(
      fitLabel(` Latest failures: ${FILTERS[filter]} (${num(s.failureCount)} in all; f cycles) `, failWidth + 2),
    );
    const failRows = Math.max(1, (l.failures?.height ?? 3) - 2);
    // Wrapped, not cut: a reason or a log message is read whole, the newest at the bottom.
    w.failures.setContent(boxLines(s.failures.slice(-failRows).map(failureLine), failWidth, failRows).join('\n'));
    const logWidth = place(w.logs, l.logs);
    const logRows = Math.max(1, (l.logs?.height ?? 3) - 2);
    w.logs.setLabel(fitLabel(` Log (${localZone()}) `, logWidth + 2));
    w.logs.setContent(boxLines(s.logTail.slice(-logRows).map(logEntry), logWidth, logRows).join('\n'));
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

function breakdownText(s: Snapshot): string {
  // Without a result yet a test is remaining (the run can go on); a completed run's are missing.
  const rows: Array<[string, string]> = [
    ['passed', num(s.passed)],
    ['failed', num(s.failed)],
    ['error', num(s.errors)],
    ['skipped', num(s.skipped)],
    [s.state === 'COMPLETED' ? 'missing' : 'remaining', s.remaining === null ? '?' : num(s.remaining)],
    ['success', s.passRate === null ? '-' : `${s.passRate.toFixed(1)}%`],
  ];
  return rows.map(([label, value]) => `${label.padEnd(10)}${value}`).join('\n');
}

function drawChart(chart: LineChart, s: Snapshot): void {
  const y = s.rateSeries.length >= 2 ? s.rateSeries : [0, ...s.rateSeries, 0].slice(0, 2);
  const x = y.map((_, i) => `${i - y.length + 1}s`);
  // An all-zero series would divide by zero inside the chart.
  chart.options.maxY = Math.max(1, ...y) * 1.2;
  chart.setData([{ title: 'tests/s', x, y }]);
}

function failureLine(f: Snapshot['failures'][number]): string {
  return `#${f.n} ${f.id} ${f.name === f.id ? '' : `${f.name} `}[${f.status}] ${f.detail}`;
}
