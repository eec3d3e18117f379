import { formatDuration, localClock } from '@capi/core';
import { apiPause, formatRate, localTime } from './render-plain.js';
import type { Snapshot } from './snapshot.js';

/**
 * Where the dashboard's boxes go, and the header's text, for any terminal size. Pure, so a
 * unit test can check every size. The header comes first and its first line is the state
 * (with elapsed, ETA and rate): as the terminal shrinks, the other boxes go first, then the
 * header's later lines; the state line is the last thing to go.
 */

export interface Rect {
  top: number;
  left: number;
  width: number;
  height: number;
}

export interface Layout {
  header: Rect;
  status: Rect | null;
  chart: Rect | null;
  batches: Rect | null;
  failures: Rect | null;
  logs: Rect | null;
}

/** Status box: its 6 lines of counts; a wide terminal gives the rest of its band to the chart. */
const STATUS_ROWS = 8;
const STATUS_WIDTH = 24;
/** The line chart needs room for its axis labels (blessed-contrib draws nothing useful below). */
const CHART_MIN = { width: 30, height: 6 };
const BOX_MIN_ROWS = 4;
const LOGS_MIN_WIDTH = 80;

export function planLayout(width: number, height: number, headerLines: number, batchCount: number): Layout {
  const header = { top: 0, left: 0, width, height: Math.min(height, headerLines + 2) };
  const layout: Layout = { header, status: null, chart: null, batches: null, failures: null, logs: null };
  let top = header.height;
  let rest = height - top;
  if (rest < 3) return layout;
  // The counts' band takes what is left when nothing else fits below it; else 30% (more
  // room for the chart), at least its 8 rows, at most 14.
  const bandRows =
    rest < STATUS_ROWS + BOX_MIN_ROWS ? rest : Math.min(14, Math.max(STATUS_ROWS, Math.round(rest * 0.3)));
  const chartWidth = width - STATUS_WIDTH;
  if (chartWidth >= CHART_MIN.width && bandRows >= CHART_MIN.height) {
    layout.chart = { top, left: 0, width: chartWidth, height: bandRows };
    layout.status = { top, left: chartWidth, width: STATUS_WIDTH, height: bandRows };
  } else layout.status = { top, left: 0, width, height: bandRows };
  top += bandRows;
  rest -= bandRows;
  if (rest < BOX_MIN_ROWS) return layout;
  // Then the batches (no more rows than they fill); failures and logs take the rest when
  // it is 4 rows or more.
  const batchRows = Math.min(
    rest >= 2 * BOX_MIN_ROWS ? Math.ceil(rest / 2) : rest,
    Math.max(BOX_MIN_ROWS, batchCount + 3),
  );
  layout.batches = { top, left: 0, width, height: batchRows };
  top += batchRows;
  rest -= batchRows;
  if (rest < BOX_MIN_ROWS) return layout;
  const failuresWidth = width >= LOGS_MIN_WIDTH ? Math.round(width * 0.6) : width;
  layout.failures = { top, left: 0, width: failuresWidth, height: rest };
  if (failuresWidth < width) layout.logs = { top, left: failuresWidth, width: width - failuresWidth, height: rest };
  return layout;
}

export type Paint = 'red' | 'green' | null;

/** A piece of header text: pieces go to the next line where they do not fit. */
export interface Segment {
  text: string;
  paint?: Paint;
  /** Joined to the piece before without a gap (the progress bar and its counts). */
  tight?: boolean;
}

const num = (n: number) => n.toLocaleString('en-US');
const GAP = '  ';
const TROUBLE = new Set(['STALLED', 'DEAD', 'FAILED']);

/** The header's lines, most important first, as segments (wrapped by `wrapSegments`). */
export function headerSegments(s: Snapshot, message: string, width: number): Segment[][] {
  // Short: the whole state line fits 78 columns (an 80-column terminal) in every state.
  const stalled = s.stalledS === null ? '' : ` (no heartbeat ${formatDuration(s.stalledS)})`;
  const state: Segment[] = [
    { text: `State ${s.state}${stalled}${apiPause(s)}`, paint: TROUBLE.has(s.state) ? 'red' : null },
    { text: `elapsed ${s.elapsedS === null ? '-' : formatDuration(s.elapsedS)}` },
    { text: `ETA ${s.etaS === null ? '-' : formatDuration(s.etaS)}` },
    { text: `rate ${formatRate(s.rate)} tests/s` },
  ];
  // control.json's rate as the workers take it; one they do not take is trouble
  if (s.rateLimit) state.push({ text: s.rateLimit.text, paint: s.rateLimit.notTaken.length > 0 ? 'red' : null });
  if (s.verdict !== null)
    state.push({ text: `verdict ${s.verdict.toUpperCase()}`, paint: s.verdict === 'failed' ? 'red' : null });
  const total = s.total === null ? '?' : num(s.total);
  const counts = `${num(s.done)} / ${total} (${s.percent === null ? '?' : s.percent.toFixed(1)}%)`;
  const success = `success ${s.passRate === null ? '-' : `${s.passRate.toFixed(1)}%`}`;
  const progress: Segment[] = [];
  // The bar takes what the counts leave of the line, if that is enough to read.
  const bar = Math.min(50, width - counts.length - GAP.length - success.length - 3);
  if (bar >= 10) {
    const filled = Math.round(((s.percent ?? 0) / 100) * bar);
    progress.push(
      { text: '[' },
      { text: '#'.repeat(filled), paint: 'green', tight: true },
      { text: `${'-'.repeat(bar - filled)}] `, tight: true },
    );
  }
  progress.push({ text: counts, tight: true }, { text: success });
  const run: Segment[] = [
    { text: `Run ${s.runId}` },
    { text: `method ${s.method ?? '-'}` },
    { text: `suite ${s.suite ?? '-'}` },
    { text: `started ${localTime(s.started)}` },
    { text: `pid ${s.pid ?? '-'}${s.pidAlive === false ? (s.pid === null ? ' (none recorded)' : ' (gone)') : ''}` },
    { text: 'keys: q s f ?' },
  ];
  const lines = [state, progress, run];
  if (s.resume) lines.push([{ text: `resume: ${s.resume}`, paint: s.state === 'STOPPED' ? null : 'red' }]);
  if (message) lines.push([{ text: message }]);
  return lines;
}

/**
 * Lays segments out in lines of at most `width` characters: a segment goes to the next line
 * where it does not fit, and one wider than a line is broken after a word (or anywhere).
 */
export function wrapSegments(lines: Segment[][], width: number): Segment[][] {
  const w = Math.max(1, width);
  const out: Segment[][] = [];
  for (const segments of lines) {
    let line: Segment[] = [];
    let used = 0;
    const newLine = () => {
      out.push(line);
      line = [];
      used = 0;
    };
    for (const seg of segments) {
      const gap = used > 0 && !seg.tight ? GAP : '';
      if (used > 0 && used + gap.length + seg.text.length > w) newLine();
      else if (gap) {
        line.push({ text: gap });
        used += gap.length;
      }
      let rest = seg.text;
      while (rest.length > 0) {
        if (used >= w) newLine();
        const room = w - used;
        // Too long for the line: break after a word where there is one, else anywhere.
        const space = rest.length > room ? rest.lastIndexOf(' ', room) : -1;
        const piece = space > 0 ? rest.slice(0, space) : rest.slice(0, room);
        line.push({ text: piece, paint: seg.paint ?? null });
        used += piece.length;
        rest = rest.slice(space > 0 ? space + 1 : piece.length);
        if (rest.length > 0) newLine();
      }
    }
    if (line.length > 0) out.push(line);
  }
  return out;
}

/** Cuts a box label to fit its top border. */
export function fitLabel(label: string, boxWidth: number): string {
  const room = Math.max(0, boxWidth - 4);
  return label.length <= room ? label : `${label.slice(0, Math.max(0, room - 2)).trimEnd()}… `;
}

/** The batches box as text: a header row and one row per batch, each cut to the width. */
export function batchLines(s: Snapshot, width: number): string[] {
  const widths = [12, 8, 9, 15, 6, 7];
  const row = (cells: string[]) =>
    cells
      .map((c, i) => (i < widths.length ? c.padEnd(widths[i] as number) : c))
      .join('  ')
      .slice(0, width)
      .trimEnd();
  return [
    row(['batch', 'pid', 'state', 'done/total', 'pass%', 'rate', 'current']),
    ...s.batches.map((b) =>
      row([
        b.batch,
        b.pid === null ? '-' : String(b.pid),
        b.state,
        `${num(b.done)}/${b.total === null ? '?' : num(b.total)}`,
        b.passRate === null ? '-' : b.passRate.toFixed(1),
        b.rate === null ? '-' : formatRate(b.rate),
        b.current ?? '',
      ]),
    ),
  ];
}

/**
 * Text cut into lines of at most `width` characters, broken after a word where there is
 * one; lines after the first are indented by `indent` so an entry stays readable as one.
 */
export function wrapText(text: string, width: number, indent = 2): string[] {
  const w = Math.max(1, width);
  const pad = ' '.repeat(Math.min(indent, Math.max(0, w - 1)));
  const out: string[] = [];
  let rest = text;
  let prefix = '';
  while (rest.length > 0) {
    const room = w - prefix.length;
    if (rest.length <= room) {
      out.push(prefix + rest);
      break;
    }
    const space = rest.lastIndexOf(' ', room);
    const cut = space > 0 ? space : room;
    out.push((prefix + rest.slice(0, cut)).trimEnd());
    rest = rest.slice(cut).trimStart();
    prefix = pad;
  }
  return out.length > 0 ? out : [''];
}

/**
 * The newest entries that fit `rows` lines once wrapped, oldest first (the newest at the
 * bottom). Only whole entries show, so no line is the tail of a reason whose start is
 * gone; when the newest alone is taller than the box, its start shows.
 */
export function boxLines(entries: string[], width: number, rows: number): string[] {
  const out: string[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const lines = wrapText(entries[i] as string, width);
    if (out.length + lines.length <= rows) out.unshift(...lines);
    else {
      if (out.length === 0) out.push(...lines.slice(0, rows));
      break;
    }
  }
  return out;
}

const LOG_STAMP = /^([^:\s]+: )(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) /;

/**
 * A log line for the narrow log box: `capi.log: 2026-…Z worker 2 started` becomes
 * `10:30:05 capi.log: worker 2 started` (local clock; the box label shows the zone), so
 * the message is what the box shows, not the date.
 */
export function logEntry(line: string): string {
  const m = LOG_STAMP.exec(line);
  if (!m) return line;
  return `${localClock(m[2] as string)} ${m[1]}${line.slice(m[0].length)}`;
}
