import { cleanText } from './clean-text.js';
import { errorText, failureText, type MergedStatus, type MergedTest } from './merged-test.js';

/**
 * A kept record's report rows as text, rendered once when the record wins and stored in
 * the spool (spool.ts): the merged result record (docs/formats.md) and, when a CSV is
 * asked for, its CSV row, each cut where the values that later records of the same id can
 * still change go (attempts, flaky, records). Writing a report is then joining strings,
 * and reading a test back (`view`) is one JSON.parse of its record.
 *
 * An entry is its parts joined by 0x01: JSON before attempts, JSON from startedAt to
 * flaky, JSON after records, then optionally CSV before attempts and CSV after it. Neither
 * 0x01 nor 0x02 (the spool's end byte) appears in JSON text or a cleaned CSV cell.
 */

export const SEP = '\u0001';

/**
 * DataViews of the buffers copyBytes copied between last: two of each, since the JSON
 * and CSV reports are written row by row from the spool into two report buffers, in turn
 * (a view made anew at each turn cost as much as the copies).
 */
class Views {
  private a: Uint8Array | null = null;
  private aView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private b: Uint8Array | null = null;
  private bView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  of(buf: Uint8Array): DataView<ArrayBufferLike> {
    if (buf === this.a) return this.aView;
    // the other one becomes the last used; a new buffer replaces the one used longer ago
    const view = buf === this.b ? this.bView : new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.b = this.a;
    this.bView = this.aView;
    this.a = buf;
    this.aView = view;
    return view;
  }
}

const sources = new Views();
const destinations = new Views();

/**
 * Copies src[s, e) into dst at d (different buffers); the index after it. Four bytes at a
 * time through DataViews, which allocate nothing per copy: Buffer#copy and a typed
 * array's set() of a subarray each make a view object per call, and with five copies per
 * report row (attempts and records go between them) those views were most of what a
 * million-row JSON and CSV report allocated, some 800 young-generation collections
 * (`--trace-gc`), and a view made per copy cost more than the copy itself.
 */
export function copyBytes(src: Uint8Array, s: number, e: number, dst: Uint8Array, d: number): number {
  const from = sources.of(src);
  const to = destinations.of(dst);
  let k = s;
  // 16 bytes a turn (a JSON row is some 300): a quarter of the loop's own steps (measured 35% faster)
  for (; k + 16 <= e; k += 16, d += 16) {
    to.setInt32(d, from.getInt32(k, true), true);
    to.setInt32(d + 4, from.getInt32(k + 4, true), true);
    to.setInt32(d + 8, from.getInt32(k + 8, true), true);
    to.setInt32(d + 12, from.getInt32(k + 12, true), true);
  }
  for (; k + 4 <= e; k += 4, d += 4) to.setInt32(d, from.getInt32(k, true), true);
  for (; k < e; k++) dst[d++] = src[k] as number;
  return d;
}

/** Copies `word` into `dst` at `d`; the index after it (report rows written in place). */
export function put(word: Uint8Array, dst: Uint8Array, d: number): number {
  for (let k = 0; k < word.length; k++) dst[d++] = word[k] as number;
  return d;
}

/** What a row's text is made of (the columns keep attempts, records and flags). */
export interface RowFields {
  id: string;
  name: string;
  status: MergedStatus;
  /** The canonical ISO text (toISOString's form); null when unknown. */
  startedAt: string | null;
  durationMs: number;
  httpStatus: number | null;
  responseBytes: number | null;
  failures: unknown[] | null;
  error: object | null;
  batch: string | null;
  worker: number | null;
  runId: string | null;
  tags: string[];
  shard: string | null;
  /** The winning record's machine (capi-launch --hosts); null when it names none. */
  host: string | null;
  flow: string | null;
  /** The flow run that gave the result: written only when > 1, as capi-exec does. */
  flowRun: number;
  /** batch, tags and flow already rendered (the table renders each distinct value once). */
  pieces?: Pieces;
}

/** The text of values many rows share: rendered once per value, not once per row. */
export interface Pieces {
  /** JSON values. */
  batch: string;
  tags: string;
  /** `,"flow":…` or nothing. */
  flow: string;
  /** CSV fields (cleaned, guarded, quoted). */
  batchCsv: string;
  tagsCsv: string;
}

export function piecesOf(batch: string | null, tags: string[], flow: string | null): Pieces {
  return {
    batch: str(batch),
    tags: JSON.stringify(tags),
    flow: flow === null ? '' : `,"flow":${JSON.stringify(flow)}`,
    batchCsv: csvField(neutralize(batch ?? '')),
    tagsCsv: csvField(neutralize(tags.join(';'))),
  };
}

/**
 * Every text cell is cleaned of escape sequences and control characters first (a CSV is
 * also read with `cat`; docs/formats.md, "Text from outside"). Then: a spreadsheet runs a
 * cell that starts with `=`, `+`, `-` or `@` (or tab/CR before one) as a formula; a
 * leading `'` makes it text (the OWASP advice for CSV injection).
 */
export function neutralize(text: string): string {
  if (text === '') return '';
  const cell = cleanText(text);
  return /^[=+\-@\t\r\n]/.test(cell) ? `'${cell}` : cell;
}

const str = (s: string | null) => (s === null ? 'null' : JSON.stringify(s));

// The run id is the same on nearly every row: its JSON text is kept for the next one.
let lastRunId: string | null = null;
let lastRunIdText = 'null';
function runIdText(runId: string | null): string {
  if (runId !== lastRunId) {
    lastRunId = runId;
    lastRunIdText = str(runId);
  }
  return lastRunIdText;
}

/** A CSV field as csv-stringify writes it by default: quoted when it holds a comma, quote or line break. */
export function csvField(s: string): string {
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 44 || c === 34 || c === 10 || c === 13) return `"${s.replaceAll('"', '""')}"`;
  }
  return s;
}

function responseText(f: RowFields): string {
  if (f.httpStatus === null) return 'null';
  return f.responseBytes === null
    ? `{"status":${f.httpStatus}}`
    : `{"status":${f.httpStatus},"bytes":${JSON.stringify(f.responseBytes)}}`;
}

function csvParts(f: RowFields, p: Pieces): string {
  const t = f as unknown as MergedTest;
  const duration = f.status === 'missing' ? '' : String(Number(f.durationMs.toFixed(3)));
  const failure = f.failures === null && f.status !== 'missing' ? '' : csvField(neutralize(failureText(t, 1000)));
  const error = f.error === null ? '' : csvField(neutralize(errorText(t)));
  return `${SEP}${csvField(neutralize(f.id))},${csvField(neutralize(f.name))},${f.status},${f.httpStatus ?? ''},${duration},${SEP},${failure},${error},${p.batchCsv},${p.tagsCsv},${csvField(neutralize(f.host ?? ''))}\n`;
}

/** `,"host":…` only where a result named its machine, as capi-exec writes it. */
const hostText = (host: string | null): string => (host === null ? '' : `,"host":${JSON.stringify(host)}`);

/** The spool entry of a row. */
export function renderRow(f: RowFields, csv: boolean): string {
  const p = f.pieces ?? piecesOf(f.batch, f.tags, f.flow);
  // A canonical start time needs no escaping.
  const startedAt = f.startedAt === null ? 'null' : `"${f.startedAt}"`;
  const failures = f.failures === null ? '[]' : JSON.stringify(f.failures);
  const error = f.error === null ? 'null' : JSON.stringify(f.error);
  const head = `{"id":${JSON.stringify(f.id)},"name":${JSON.stringify(f.name)},"status":"${f.status}","attempts":`;
  const middle = `,"startedAt":${startedAt},"durationMs":${f.durationMs},"response":${responseText(f)},"failures":${failures},"error":${error},"batch":${p.batch},"worker":${f.worker ?? 'null'},"runId":${runIdText(f.runId)},"tags":${p.tags},"shard":${str(f.shard)}${hostText(f.host)},"flaky":`;
  const tail = f.flowRun > 1 ? `${p.flow},"flowRun":${f.flowRun}` : p.flow;
  return `${head}${SEP}${middle}${SEP}${tail}${csv ? csvParts(f, p) : ''}`;
}

/** A short entry: the name only (TableOptions.short; the id is the table's), in the same three parts. */
export function renderName(f: RowFields): string {
  return `{"name":${JSON.stringify(f.name)},"attempts":${SEP},"flaky":${SEP}`;
}

/** The merged result record's JSON text (toResultRecord's fields, in its order). */
export function recordText(entry: string, attempts: number, flaky: boolean, records: number): string {
  const a = entry.indexOf(SEP);
  const b = entry.indexOf(SEP, a + 1);
  let c = entry.indexOf(SEP, b + 1);
  if (c < 0) c = entry.length;
  return `${entry.slice(0, a)}${attempts}${entry.slice(a + 1, b)}${flaky},"records":${records}${entry.slice(b + 1, c)}}`;
}

/** The CSV row (with its line break), or null when the entry was rendered without one. */
export function csvText(entry: string, attempts: number): string | null {
  const a = entry.indexOf(SEP);
  const b = entry.indexOf(SEP, a + 1);
  const c = entry.indexOf(SEP, b + 1);
  if (c < 0) return null;
  const d = entry.indexOf(SEP, c + 1);
  return `${entry.slice(c + 1, d)}${attempts}${entry.slice(d + 1)}`;
}

/** A CSV line rendered on the spot (for a table that kept no CSV text). */
export function csvLine(f: RowFields, attempts: number): string {
  return csvText(renderRow(f, true), attempts) as string;
}

/** RowFields of a MergedTest (to render a row again, or one the spool has no CSV for). */
export function fieldsOf(t: MergedTest): RowFields {
  // MergedTest has every field of RowFields but the start time's text (renderRow reads no others)
  return { ...t, startedAt: Number.isNaN(t.startedAtMs) ? null : new Date(t.startedAtMs).toISOString() };
}
