import type { CheckFailure, ResultError } from '@capi/core';
import { ensure, growable, widen } from './growable.js';
import { IdIndex } from './id-index.js';
import { StringPool, TagPool } from './interner.js';
import type { MergedStatus, MergedTest } from './merged-test.js';
import {
  copyBytes,
  csvLine,
  csvText,
  fieldsOf,
  type Pieces,
  piecesOf,
  put,
  type RowFields,
  recordText,
  renderName,
  renderRow,
  SEP,
} from './row-text.js';
import { Spool } from './spool.js';

/**
 * The merged tests, one row per id. Memory holds only what deduplication and the summary
 * need, by column in typed arrays (never traced by the garbage collector): status, flags,
 * start, duration, attempts, records, the batch, tag-list and flow codes (pools of
 * distinct values, interner.ts), the id's bytes (id-index.ts) and where the row's text
 * is in the spool. Everything else the reports show (name, response, failed checks,
 * error, run id, worker, shard) is rendered into report text once, when a record wins,
 * and kept in the spool (spool.ts, row-text.ts): about 60 bytes per id in memory instead
 * of ~180, whatever the names and failures weigh. `view`, `get` and `values` read a row
 * back as a MergedTest; the reports copy the rendered text.
 */

/** Status names by code. */
export const STATUSES: MergedStatus[] = ['passed', 'failed', 'error', 'skipped', 'missing'];
export const STATUS_CODE: Record<MergedStatus, number> = { passed: 0, failed: 1, error: 2, skipped: 3, missing: 4 };
export const FLAG_FLAKY = 1;
export const FLAG_BAD = 2;
/** The winning record never sent a request (no response, and no try or no time): no latency. */
export const FLAG_UNSENT = 4;
/** The winning record is a FLOW_STOPPED error (flow-summary.ts). */
export const FLAG_STOPPED = 8;
/** The winning record came from a flow run again on resume (flowRun > 1). */
export const FLAG_RERUN = 16;
/**
 * The row's text holds a name other than the id, a run id or worker, a shard: a later
 * record without that field keeps it (merge-state.ts), so only then is the text read back.
 */
export const FLAG_HAS_NAME = 32;
export const FLAG_HAS_RUN = 64;
export const FLAG_HAS_SHARD = 128;

const SEP_BYTE = SEP.charCodeAt(0);
const ID_HEAD = Buffer.from('{"id":"');
const RESPONSE_KEY = Buffer.from(',"response":');
const NULL_TEXT = Buffer.from('null');
const STATUS_HEAD = Buffer.from('{"status":');
const NAME_HEAD = Buffer.from(',"name":"');

function startsWith(bytes: Buffer, head: Buffer, at: number, end: number): boolean {
  if (at + head.length > end) return false;
  for (let k = 0; k < head.length; k++) if (bytes[at + k] !== head[k]) return false;
  return true;
}

/** Where the JSON string whose text starts at `at` ends (its closing quote, before `end`), or -1 when it has an escape. */
function plainString(bytes: Buffer, at: number, end: number): number {
  for (let k = at; k < end; k++) {
    const c = bytes[k];
    if (c === 0x22) return k;
    if (c === 0x5c) return -1;
  }
  return -1;
}

type Codes = Uint8Array | Uint16Array | Uint32Array;

/** Where a report row is written in place (sink.ts's reserve, buffer and advance). */
export interface RowOut {
  reserve(n: number): number;
  buffer(): Buffer;
  advance(end: number): Promise<void> | undefined;
}

const FAILURES_KEY = Buffer.from('"failures":');
const BATCH_KEY = Buffer.from(',"batch":');
const FLAKY_RECORDS = Buffer.from('true,"records":');
const NOT_FLAKY_RECORDS = Buffer.from('false,"records":');

/** A whole number >= 0 (a count) as its decimal digits, String()'s text. */
function putUint(v: number, dst: Uint8Array, d: number): number {
  if (v < 10) {
    dst[d] = 48 + v;
    return d + 1;
  }
  let digits = 1;
  for (let p = 10; p <= v; p *= 10) digits++;
  let q = v;
  for (let k = d + digits - 1; k >= d; k--) {
    dst[k] = 48 + (q % 10);
    q = Math.floor(q / 10);
  }
  return d + digits;
}

/**
 * A code or count column as narrow as its largest value: most runs have under 256
 * batches and tag lists, and attempts and records are mostly 1.
 */
function fit(a: Codes, value: number): Codes {
  if (value <= 0xff || (value <= 0xffff && !(a instanceof Uint8Array)) || a instanceof Uint32Array) return a;
  return value <= 0xffff ? widen(a, Uint16Array) : widen(a, Uint32Array);
}

export interface TableOptions {
  /** Render each row's CSV text too (a CSV report is asked for). */
  csv?: boolean;
  /**
   * No report lists every row (only the text summary is asked for): a row that passed,
   * was skipped or is missing keeps only its name, the one thing the summary may show of
   * it (the slowest tests); failed and errored rows keep their full text (failure groups).
   */
  short?: boolean;
  /** Bytes of row text kept in memory before the spool moves to a temp file. */
  spoolInMemory?: number;
}

export class TestTable {
  private capacity = 1024;
  size = 0;
  private readonly index = new IdIndex();
  readonly spool: Spool;
  readonly csv: boolean;
  readonly short: boolean;
  readonly batchPool = new StringPool();
  readonly tagPool = new TagPool();
  /** Flow names (flow-summary.ts). */
  readonly flowPool = new StringPool();
  /** Codes into the pools above; 0 is none. */
  batch: Codes = growable(Uint8Array, this.capacity);
  tags: Codes = growable(Uint8Array, this.capacity);
  flow: Codes = growable(Uint8Array, this.capacity);
  status = growable(Uint8Array, this.capacity);
  flags = growable(Uint8Array, this.capacity);
  /** Counts summed over the id's records (as narrow as they fit: setCounts). */
  attempts: Codes = growable(Uint8Array, this.capacity);
  records: Codes = growable(Uint8Array, this.capacity);
  duration = growable(Float64Array, this.capacity);
  /** NaN: unknown. */
  start = growable(Float64Array, this.capacity);
  /** The row's text in the spool (a Spool reference; 0: none yet). */
  text = growable(Uint32Array, this.capacity);
  /** 1: a suite row with no result yet, its text not rendered (setPending). */
  pending = growable(Uint8Array, this.capacity);

  constructor(opts: TableOptions = {}) {
    this.csv = opts.csv ?? false;
    this.short = opts.short ?? false;
    this.spool = new Spool(opts.spoolInMemory);
  }

  indexOf(id: string): number | undefined {
    const i = this.index.find(id);
    return i < 0 ? undefined : i;
  }

  /** indexOf for an ASCII id given as its bytes src[s, e) (fast-line.ts). */
  indexOfBytes(src: Uint8Array, s: number, e: number): number {
    return this.index.findBytes(src, s, e);
  }

  /** add for an ASCII id given as its bytes, right after indexOfBytes did not find it. */
  addBytes(src: Uint8Array, s: number, e: number): number {
    if (this.size === this.capacity) this.resize(this.capacity * 2);
    const i = this.index.insertBytes(src, s, e);
    this.size++;
    this.start[i] = Number.NaN;
    return i;
  }

  has(id: string): boolean {
    return this.index.find(id) >= 0;
  }

  idOf(i: number): string {
    return this.index.idOf(i);
  }

  /** Appends a row for a new id and returns its index; the caller fills it. */
  add(id: string): number {
    if (this.size === this.capacity) this.resize(this.capacity * 2);
    const i = this.index.insert(id);
    this.size++;
    this.start[i] = Number.NaN;
    return i;
  }

  setBatch(i: number, code: number): void {
    this.batch = fit(this.batch, code);
    this.batch[i] = code;
  }

  setTags(i: number, code: number): void {
    this.tags = fit(this.tags, code);
    this.tags[i] = code;
  }

  setFlow(i: number, code: number): void {
    this.flow = fit(this.flow, code);
    this.flow[i] = code;
  }

  /** Adds one record's attempts to row i. */
  countRecord(i: number, attempts: number): void {
    const records = (this.records[i] as number) + 1;
    const total = Math.min((this.attempts[i] as number) + attempts, 0xffffffff);
    this.records = fit(this.records, records);
    this.attempts = fit(this.attempts, total);
    this.records[i] = records;
    this.attempts[i] = total;
  }

  // Rendered batch, tags and flow by their codes (row-text.ts Pieces), for the last few combinations.
  private readonly pieceCache = new Map<number, Pieces>();

  /**
   * A suite row (missing or skipped until a result comes) whose text is rendered only
   * when it is read (`ref`): nearly every suite row of a run gets a result, whose text
   * replaces it, and rendering and spooling each one first cost a launched run's merge a
   * second row per test. Until then the spool holds only its name, when not the id.
   */
  setPending(i: number, name: string): void {
    this.text[i] = name === this.idOf(i) ? 0 : this.spool.append(renderName({ name } as RowFields));
    this.pending[i] = 1;
  }

  /** The row's spool reference, its text rendered first if it was pending. */
  private ref(i: number): number {
    if (this.pending[i] === 1) this.renderPending(i);
    return this.text[i] as number;
  }

  /** What addExpected rendered for a suite row: its text from the columns and its name. */
  private renderPending(i: number): void {
    const id = this.idOf(i);
    const named = this.text[i] as number;
    const name = named === 0 ? id : (JSON.parse(`${this.spool.read(named).split(SEP, 1)[0]}0}`).name as string);
    this.setText(i, {
      id,
      name,
      status: this.statusOf(i),
      startedAt: null,
      durationMs: 0,
      httpStatus: null,
      responseBytes: null,
      failures: null,
      error: null,
      batch: this.batchPool.values[this.batch[i] as number] ?? null,
      worker: null,
      runId: null,
      tags: this.tagPool.values[this.tags[i] as number] as string[],
      shard: null,
      host: null,
      flow: this.flowPool.values[this.flow[i] as number] ?? null,
      flowRun: 0,
    });
  }

  /** Stores the row's text (batch, tags and flow are the row's codes'). */
  setText(i: number, f: RowFields): void {
    this.pending[i] = 0;
    if (this.short && f.status !== 'failed' && f.status !== 'error') {
      this.text[i] = this.spool.append(renderName(f));
      return;
    }
    f.pieces = this.piecesOf(i);
    this.text[i] = this.spool.append(renderRow(f, this.csv));
  }

  /** Row i's batch, tags and flow rendered (row-text.ts Pieces), from the cache while it holds them. */
  piecesOf(i: number): Pieces {
    const b = this.batch[i] as number;
    const t = this.tags[i] as number;
    const fl = this.flow[i] as number;
    // One small integer for the three codes while they are under 1024 (nearly always); otherwise no cache.
    const key = b < 0x400 && t < 0x400 && fl < 0x400 ? (b << 20) | (t << 10) | fl : -1;
    let pieces = key < 0 ? undefined : this.pieceCache.get(key);
    if (pieces === undefined) {
      pieces = piecesOf(
        this.batchPool.values[b] ?? null,
        this.tagPool.values[t] as string[],
        this.flowPool.values[fl] ?? null,
      );
      if (key >= 0) {
        if (this.pieceCache.size >= 4096) this.pieceCache.clear();
        this.pieceCache.set(key, pieces);
      }
    }
    return pieces;
  }

  private resize(n: number): void {
    this.capacity = n;
    this.batch = ensure(this.batch, n);
    this.tags = ensure(this.tags, n);
    this.flow = ensure(this.flow, n);
    this.status = ensure(this.status, n);
    this.flags = ensure(this.flags, n);
    this.attempts = ensure(this.attempts, n);
    this.records = ensure(this.records, n);
    this.duration = ensure(this.duration, n);
    this.start = ensure(this.start, n);
    this.text = ensure(this.text, n);
    this.pending = ensure(this.pending, n);
  }

  statusOf(i: number): MergedStatus {
    return STATUSES[this.status[i] as number] as MergedStatus;
  }

  /** The merged result record's JSON text (toResultRecord's form). */
  recordText(i: number): string {
    const flags = this.flags[i] as number;
    const entry = this.spool.read(this.ref(i));
    return recordText(entry, this.attempts[i] as number, (flags & FLAG_FLAKY) !== 0, this.records[i] as number);
  }

  // Where recordBytes and csvBytes put a row together; grows to the longest row.
  private scratch = Buffer.allocUnsafe(4096);
  private scratchEnd = 0;
  private readonly scratchOut: RowOut = {
    reserve: (n) => {
      if (this.scratch.length < n) this.scratch = Buffer.allocUnsafe(Math.max(n, 2 * this.scratch.length));
      return 0;
    },
    buffer: () => this.scratch,
    advance: (end) => {
      this.scratchEnd = end;
      return undefined;
    },
  };

  /**
   * `prefix`, the merged record's JSON text and `suffix`, as bytes (recordText's, byte for
   * byte): writeRecord's bytes, as a view of a reused buffer, valid until the next call.
   */
  recordBytes(i: number, prefix: string, suffix = ''): Buffer {
    this.writeRecord(i, this.scratchOut, Buffer.from(prefix, 'latin1'), Buffer.from(suffix, 'latin1'));
    return this.scratch.subarray(0, this.scratchEnd);
  }

  /**
   * The merged record's JSON between `prefix` and `suffix`, written straight into `out` (a
   * report's sink): the spool's bytes copied as they are with the counts written between
   * them; no copy through another buffer, no string or view per row. `prefix` and `suffix` are ASCII. Returns what
   * `out.advance` returns (a promise when the report waits for its file).
   */
  writeRecord(i: number, out: RowOut, prefix: Uint8Array, suffix: Uint8Array): Promise<void> | undefined {
    const spool = this.spool;
    const src = spool.locate(this.ref(i));
    const s = spool.at;
    const e = spool.end;
    const a = src.indexOf(SEP_BYTE, s);
    const b = src.indexOf(SEP_BYTE, a + 1);
    // the third part ends at the entry's end when no CSV text follows (a SEP found past it is another entry's)
    let c = src.indexOf(SEP_BYTE, b + 1);
    if (c < 0 || c > e) c = e;
    return this.putRecord(i, src, s, a, b, c, out, prefix, suffix);
  }

  /** writeRecord's bytes from the row's text located in src: its parts [s, a), [a + 1, b), [b + 1, c). */
  private putRecord(
    i: number,
    src: Buffer,
    s: number,
    a: number,
    b: number,
    c: number,
    out: RowOut,
    prefix: Uint8Array,
    suffix: Uint8Array,
  ): Promise<void> | undefined {
    const flaky = ((this.flags[i] as number) & FLAG_FLAKY) !== 0;
    // The counts and the fixed text: at most 64 bytes.
    let n = out.reserve(c - s + prefix.length + suffix.length + 64);
    const buf = out.buffer();
    n = put(prefix, buf, n);
    n = copyBytes(src, s, a, buf, n);
    n = putUint(this.attempts[i] as number, buf, n);
    n = copyBytes(src, a + 1, b, buf, n);
    n = put(flaky ? FLAKY_RECORDS : NOT_FLAKY_RECORDS, buf, n);
    n = putUint(this.records[i] as number, buf, n);
    n = copyBytes(src, b + 1, c, buf, n);
    buf[n++] = 0x7d; // }
    n = put(suffix, buf, n);
    return out.advance(n);
  }

  /**
   * writeRecord into `out`, then writeCsv into `csv`, with the row's text located once and
   * its parts found once (the JSON report with the CSV report beside it). For a table that
   * keeps CSV text.
   */
  writeRecordAndCsv(
    i: number,
    out: RowOut,
    prefix: Uint8Array,
    suffix: Uint8Array,
    csv: RowOut,
  ): Promise<void> | undefined {
    const spool = this.spool;
    const src = spool.locate(this.ref(i));
    const s = spool.at;
    const e = spool.end;
    const a = src.indexOf(SEP_BYTE, s);
    const b = src.indexOf(SEP_BYTE, a + 1);
    const c = src.indexOf(SEP_BYTE, b + 1);
    const d = src.indexOf(SEP_BYTE, c + 1);
    const full = this.putRecord(i, src, s, a, b, c, out, prefix, suffix);
    const fullCsv = this.putCsv(i, src, c, d, e, csv);
    if (full === undefined) return fullCsv;
    return fullCsv === undefined ? full : Promise.all([full, fullCsv]).then(() => undefined);
  }

  /** The row's CSV line as bytes (csvText's), a view of a reused buffer valid until the next call. */
  csvBytes(i: number): Buffer {
    this.writeCsv(i, this.scratchOut);
    return this.scratch.subarray(0, this.scratchEnd);
  }

  /** csvBytes written straight into `out`, as writeRecord. */
  writeCsv(i: number, out: RowOut): Promise<void> | undefined {
    if (!this.csv) {
      const text = Buffer.from(this.csvText(i));
      const n = out.reserve(text.length);
      return out.advance(n + text.copy(out.buffer(), n));
    }
    const spool = this.spool;
    const src = spool.locate(this.ref(i));
    const e = spool.end;
    const a = src.indexOf(SEP_BYTE, spool.at);
    const b = src.indexOf(SEP_BYTE, a + 1);
    const c = src.indexOf(SEP_BYTE, b + 1);
    const d = src.indexOf(SEP_BYTE, c + 1);
    return this.putCsv(i, src, c, d, e, out);
  }

  /** writeCsv's bytes from the row's text located in src: its CSV parts (c, d) and (d, e). */
  private putCsv(i: number, src: Buffer, c: number, d: number, e: number, out: RowOut): Promise<void> | undefined {
    let n = out.reserve(e - c + 16);
    const buf = out.buffer();
    n = copyBytes(src, c + 1, d, buf, n);
    n = putUint(this.attempts[i] as number, buf, n);
    n = copyBytes(src, d + 1, e, buf, n);
    return out.advance(n);
  }

  /**
   * What row i's failure reason (reason.ts) is made of, as a key: a missing row's status
   * alone; a failed or errored row's status and the text of its failures and error as the
   * spool holds them. Null when the row's text is not a full row (the reason is read
   * from `view`). Inside the JSON between `"failures":` and the part's last `,"batch":`
   * no string holds a bare quote, so that `,"batch":` is the record's own key.
   */
  failureKey(i: number): string | null {
    const status = this.status[i] as number;
    if (status === STATUS_CODE.missing) return 'm';
    if (this.pending[i] === 1 || this.text[i] === 0) return null;
    const spool = this.spool;
    const src = spool.locate(this.text[i] as number);
    const a = src.indexOf(SEP_BYTE, spool.at);
    const b = src.indexOf(SEP_BYTE, a + 1);
    if (a < 0 || b < 0 || b > spool.end) return null;
    const f = src.indexOf(FAILURES_KEY, a + 1);
    const e = src.lastIndexOf(BATCH_KEY, b);
    if (f < 0 || f > b || e < f) return null;
    return `${status}${src.toString('latin1', f, e)}`;
  }

  /** The row's CSV line (csv-report.ts's columns). */
  csvText(i: number): string {
    const text = this.csv ? csvText(this.spool.read(this.ref(i)), this.attempts[i] as number) : null;
    return text ?? csvLine(fieldsOf(this.view(i)), this.attempts[i] as number);
  }

  /**
   * The row's id and name (view's), parsing only the text before attempts: the rows a
   * report shows by name alone (JUnit's passed and skipped tests) need no more.
   */
  idAndName(i: number): { id: string; name: string } {
    const spool = this.spool;
    const src = spool.locate(this.ref(i));
    const s = spool.at;
    const e = spool.end;
    // A full row's text starts {"id":"…","name":"…": with no escape in either string, its
    // characters are the text's own bytes (JSON.stringify writes control characters and
    // lone surrogates as escapes), so they are read as they are: JUnit reads a million
    // names, and a JSON.parse of each head was most of that report's time.
    if (startsWith(src, ID_HEAD, s, e)) {
      const idEnd = plainString(src, s + ID_HEAD.length, e);
      if (idEnd > 0 && startsWith(src, NAME_HEAD, idEnd + 1, e)) {
        const nameStart = idEnd + 1 + NAME_HEAD.length;
        const nameEnd = plainString(src, nameStart, e);
        if (nameEnd > 0)
          return {
            id: src.toString('utf8', s + ID_HEAD.length, idEnd),
            name: src.toString('utf8', nameStart, nameEnd),
          };
      }
    }
    const r = JSON.parse(`${src.toString('utf8', s, src.indexOf(SEP_BYTE, s))}0}`);
    return { id: r.id ?? this.idOf(i), name: r.name };
  }

  /**
   * The row's HTTP status as view gives it (null: no response), read from the row's text
   * without parsing it: `,"response":` with an unescaped quote is the record's own key
   * (inside a JSON string every quote is escaped), and only scalars come before it.
   * Undefined when the text does not say it plainly (a short row, an odd number): ask view.
   */
  httpStatusOf(i: number): number | null | undefined {
    const spool = this.spool;
    const src = spool.locate(this.ref(i));
    const s = spool.at;
    const end = src.indexOf(SEP_BYTE, src.indexOf(SEP_BYTE, s) + 1);
    if (end < 0 || end > spool.end) return undefined;
    const at = src.indexOf(RESPONSE_KEY, s);
    if (at < 0 || at > end) return undefined;
    let k = at + RESPONSE_KEY.length;
    if (startsWith(src, NULL_TEXT, k, end)) return null;
    if (!startsWith(src, STATUS_HEAD, k, end)) return undefined;
    k += STATUS_HEAD.length;
    let v = 0;
    let digits = 0;
    for (; k < end && digits < 4; k++, digits++) {
      const d = (src[k] as number) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    const next = src[k];
    if (digits === 0 || digits > 3 || src[k - digits] === 48 || (next !== 0x2c && next !== 0x7d)) return undefined;
    return v;
  }

  view(i: number): MergedTest {
    const r = JSON.parse(this.recordText(i));
    const flags = this.flags[i] as number;
    const records = this.records[i] as number;
    // What the columns hold comes from them; the rest from the text (a short row's text
    // has only the name: absent fields are none).
    return {
      id: r.id ?? this.idOf(i),
      name: r.name,
      status: this.statusOf(i),
      attempts: this.attempts[i] as number,
      records,
      durationMs: this.duration[i] as number,
      httpStatus: r.response ? r.response.status : null,
      responseBytes: r.response?.bytes ?? null,
      failures: r.failures?.length > 0 ? (r.failures as CheckFailure[]) : null,
      error: (r.error ?? null) as ResultError | null,
      batch: this.batchPool.values[this.batch[i] as number] ?? null,
      tags: this.tagPool.values[this.tags[i] as number] as string[],
      startedAtMs: this.start[i] as number,
      flaky: (flags & FLAG_FLAKY) !== 0,
      hadBad: (flags & FLAG_BAD) !== 0,
      runId: r.runId ?? null,
      worker: r.worker ?? null,
      shard: r.shard ?? null,
      host: r.host ?? null,
      flow: this.flowPool.values[this.flow[i] as number] ?? null,
      flowRun: r.flowRun ?? (records > 0 ? 1 : 0),
    };
  }

  get(id: string): MergedTest | undefined {
    const i = this.index.find(id);
    return i < 0 ? undefined : this.view(i);
  }

  *values(): IterableIterator<MergedTest> {
    for (let i = 0; i < this.size; i++) yield this.view(i);
  }

  /** Closes the spool's temp file (the merge is over). */
  close(): void {
    this.spool.close();
  }
}
