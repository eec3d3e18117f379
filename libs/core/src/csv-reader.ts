import { InputError } from './errors.js';

/** One CSV record and the line it starts on (1 = the first line of the file). */
export interface CsvRow {
  cells: string[];
  line: number;
}

/**
 * The suite CSV reader (capi-split's, and capi-merge's `--suite x.csv`, so both read a suite
 * alike): text in pieces (cut anywhere) → rows. It reads exactly what
 * csv-parse 7 read with `{ relax_column_count: true }` and nothing else set (the
 * differential test in csv-reader.test.ts holds it to that), because that is the format
 * people's suites were checked against:
 * - `,` between fields, `"` quotes a field, `""` inside quotes is one quote, and quoted
 *   fields may hold commas and line breaks;
 * - the record delimiter is the first `\r\n`, `\n` or `\r` met outside quotes, and from then
 *   on only that one ends a record (a bare `\r` in an LF file is text, and `"a"\r\n` in an LF
 *   file is a bad closing quote);
 * - a closing quote must be followed by `,`, the record delimiter, a NUL or the end of the
 *   input (csv-parse tests the next byte with `!nextChr`, so a NUL passes and becomes text);
 * - a quote inside an unquoted field is an error, a line break at the very end adds no record,
 *   and a record may have any number of cells (their count is checked per row, later).
 * Rows whose cells are all empty or white space are skipped but their lines are counted.
 * Why not csv-parse: it was the largest single cost of capi-split (docs/capi-split.md).
 */
export class CsvReader {
  /** The line the record being read starts on. */
  private line = 1;
  private delimiter = UNKNOWN;
  private mode = FIELD_START;
  private cells: string[] = [];
  /** The current field's text read so far (from earlier pieces, or up to a quote pair). */
  private field = '';
  /** Line feeds in the current record's cells: the next record starts that many lines on. */
  private newlines = 0;
  /** The end of the last piece that could not be decided yet (at most two characters). */
  private carry = '';

  constructor(private readonly source: string) {}

  /** Reads one more piece of text; complete rows go to `out`. Throws an InputError on bad CSV. */
  read(text: string, out: CsvRow[]): void {
    const s = this.carry.length > 0 ? this.carry + text : text;
    this.carry = '';
    const stop = this.parse(s, false, out);
    if (stop < s.length) this.carry = s.slice(stop);
  }

  /** The input is over: the last record may end without a line break. */
  end(out: CsvRow[]): void {
    const s = this.carry;
    this.carry = '';
    this.parse(s, true, out);
    if (this.mode === QUOTED) throw this.error('QUOTE_NOT_CLOSED');
    if (this.mode !== FIELD_START || this.cells.length > 0) {
      this.cells.push(own(this.field));
      this.field = '';
      this.endRecord(out);
    }
  }

  /**
   * Reads `s` from its start; returns where it stopped (s.length, or earlier when the next
   * decision needs characters that have not come yet and `final` is false).
   */
  private parse(s: string, final: boolean, out: CsvRow[]): number {
    const n = s.length;
    let i = 0;
    while (i < n) {
      if (this.mode === QUOTED) {
        let q = s.indexOf('"', i);
        if (q !== -1 && q + 1 < n && s.charCodeAt(q + 1) === QUOTE_CODE) {
          // Quote pairs are gathered per piece and joined once: appended one by one, a field
          // of N pairs would be a chain of N tiny strings (a hostile 16 MB cell: ~400 MB).
          const parts: string[] = [];
          do {
            parts.push(s.slice(i, q + 1));
            i = q + 2;
            q = s.indexOf('"', i);
          } while (q !== -1 && q + 1 < n && s.charCodeAt(q + 1) === QUOTE_CODE);
          this.field += parts.join('');
          // q is the next quote that is not a pair (or none): read on from it below
        }
        if (q === -1) {
          this.field += s.slice(i);
          return n;
        }
        if (q + 1 >= n) {
          this.field += s.slice(i, q);
          if (!final) return q;
          // a quote that ends the input closes the field
          this.mode = AFTER_QUOTE;
          this.newlines += countLf(this.field);
          return n;
        }
        const next = s.charCodeAt(q + 1);
        if (next === COMMA) {
          const cell = this.field + s.slice(i, q);
          this.newlines += countLf(cell);
          this.cells.push(own(cell));
          this.field = '';
          this.mode = FIELD_START;
          i = q + 2;
          continue;
        }
        if (next === NUL) {
          // csv-parse closes the quote here and reads the NUL on as text of the same field
          this.field += s.slice(i, q);
          this.newlines += countLf(this.field);
          this.mode = UNQUOTED;
          i = q + 1;
          continue;
        }
        const ends = next === LF || next === CR ? this.delimiterAt(s, q + 1, final) : 0;
        if (ends === -1) {
          this.field += s.slice(i, q);
          return q;
        }
        if (ends === 0) throw this.error('INVALID_CLOSING_QUOTE');
        const cell = this.field + s.slice(i, q);
        this.newlines += countLf(cell);
        this.cells.push(own(cell));
        this.field = '';
        this.endRecord(out);
        i = q + 1 + ends;
        continue;
      }
      if (this.mode === FIELD_START) {
        const c = s.charCodeAt(i);
        if (c === QUOTE_CODE) {
          this.mode = QUOTED;
          i++;
          continue;
        }
        if (c === COMMA) {
          this.cells.push('');
          i++;
          continue;
        }
        if (c === LF || c === CR) {
          const ends = this.delimiterAt(s, i, final);
          if (ends === -1) return i;
          if (ends > 0) {
            this.cells.push('');
            this.endRecord(out);
            i += ends;
            continue;
          }
        }
        this.mode = UNQUOTED;
      }
      // UNQUOTED (AFTER_QUOTE is only ever the state at the very end of the input)
      const start = i;
      let j = i;
      for (;;) {
        if (j >= n) {
          this.field += s.slice(start, n);
          return n;
        }
        const c = s.charCodeAt(j);
        // every character that matters is at most ',' (44)
        if (c > COMMA) {
          j++;
          continue;
        }
        if (c === COMMA) {
          this.cells.push(own(this.field + s.slice(start, j)));
          this.field = '';
          this.mode = FIELD_START;
          i = j + 1;
          break;
        }
        if (c === QUOTE_CODE) {
          // this field already has text (else it would have been opened as quoted)
          throw this.error('INVALID_OPENING_QUOTE');
        }
        if (c === LF || c === CR) {
          const ends = this.delimiterAt(s, j, final);
          if (ends === -1) {
            this.field += s.slice(start, j);
            return j;
          }
          if (ends > 0) {
            this.cells.push(own(this.field + s.slice(start, j)));
            this.field = '';
            this.endRecord(out);
            i = j + ends;
            break;
          }
          if (c === LF) this.newlines++;
        }
        j++;
      }
    }
    return n;
  }

  /**
   * The length of the record delimiter at s[i] (a `\r` or `\n`), 0 if none is there, or -1
   * when the next character decides it and has not come yet. The first one met outside
   * quotes becomes the file's delimiter.
   */
  private delimiterAt(s: string, i: number, final: boolean): number {
    const c = s.charCodeAt(i);
    switch (this.delimiter) {
      case LF_ONLY:
        return c === LF ? 1 : 0;
      case CR_ONLY:
        return c === CR ? 1 : 0;
      case CRLF:
        if (c !== CR) return 0;
        if (i + 1 >= s.length) return final ? 0 : -1;
        return s.charCodeAt(i + 1) === LF ? 2 : 0;
      default:
        if (c === LF) {
          this.delimiter = LF_ONLY;
          return 1;
        }
        if (i + 1 >= s.length && !final) return -1;
        this.delimiter = s.charCodeAt(i + 1) === LF ? CRLF : CR_ONLY;
        return this.delimiter === CRLF ? 2 : 1;
    }
  }

  private endRecord(out: CsvRow[]): void {
    const cells = this.cells;
    if (!isBlank(cells)) out.push({ cells, line: this.line });
    this.line += 1 + this.newlines;
    this.newlines = 0;
    this.cells = [];
    this.mode = FIELD_START;
  }

  private error(kind: CsvErrorKind): InputError {
    return new InputError(this.source, this.line, CSV_MESSAGES[kind]);
  }
}

export type CsvErrorKind = 'QUOTE_NOT_CLOSED' | 'INVALID_CLOSING_QUOTE' | 'INVALID_OPENING_QUOTE';

/** The words capi has always used for csv-parse's three errors that this format can raise. */
export const CSV_MESSAGES: Record<CsvErrorKind, string> = {
  QUOTE_NOT_CLOSED: 'unterminated quote: a quoted field that opens in this row is never closed',
  INVALID_CLOSING_QUOTE: 'malformed CSV: a quote inside an unquoted field, or text right after a closing quote',
  INVALID_OPENING_QUOTE: 'malformed CSV: a quote inside an unquoted field (double it, and quote the field)',
};

const NUL = 0;
const LF = 10;
const CR = 13;
const QUOTE_CODE = 34;
const COMMA = 44;

// where the reader is within a record
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** Just after a closing quote that ended the input. */
const AFTER_QUOTE = 3;

// the record delimiter, found at the first line break outside quotes
const UNKNOWN = 0;
const LF_ONLY = 1;
const CRLF = 2;
const CR_ONLY = 3;

/**
 * A cell as a string of its own. A slice of 13 characters or more is a view into the whole
 * piece it came from in V8, and so is a cell joined from parts: a cell kept for long (a
 * flow name, a cache key, a value parsed from it) would keep its 16 KiB piece alive. A
 * suite of 900,000 rows in 300,000 flows (flow names of 21 characters) peaked at 203 MB
 * so, against 164 MB with csv-parse, whose cells were copies. Shorter ones are copies
 * already. Prepending a character and cutting it off again makes V8 write one flat copy.
 */
function own(cell: string): string {
  return cell.length < 13 ? cell : ` ${cell}`.substring(1);
}

function countLf(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Every cell empty or white space (as String#trim sees it); most rows fail on their first character. */
function isBlank(cells: string[]): boolean {
  for (const cell of cells) {
    if (cell.length === 0) continue;
    const c = cell.charCodeAt(0);
    if (c > 32 && c < 127) return false;
    if (cell.trim() !== '') return false;
  }
  return true;
}
